"""Database helpers every app shares: bulk writes of plain rows (`bulk`: COPY, multi-row
upserts, raw psycopg cursors), counts computed by the database (`grouped`) and which page of a
list to show (`paging`).

They read no models of their own; callers pass models, querysets or table names. Entry points:
`bulk.insert_rows`, `bulk.upsert_rows`, `bulk.insert_new_rows`, `grouped.count_by`,
`paging.page_of`.
"""
