"""The goals service in Python: the second sample app, written only against docs/app-contract.md.

It serves the same HTTP API as the Node sample (app/): /health, /version, /goals and /slow, on 127.0.0.1:$PORT, from
the shared database named by $DATABASE_URL (PostgreSQL through psycopg2, SQL Server through pymssql). It has no drain
and no connection-age logic: the product's local proxy on each VM moves clients and drains requests.

Modules: config (the environment), database (drivers, schema, retries), server (HTTP), __main__ (the process).
Standard library only, besides the Debian database drivers.
"""
