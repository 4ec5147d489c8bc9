"""Keys and credentials: the tool's own RSA signing keys (`tool`), platforms' public key sets
(`platform`), and the credentials inbound data and the REST API present (`credentials`).
"""
