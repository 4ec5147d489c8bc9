"""The xAPI 1.0.3 LRS: statement validation, formats, attachments, storage and the endpoint.

`statements`, `validation`, `formats` and `attachments` are pure; `store` writes statements and
their events; `views` is the HTTP resource. Entry points: `completion.urls` mounts `views`.
"""
