"""The operations of one SQL transaction, one module per group of tables. `node.store.sql_store.SqlTransaction`
composes them, so that one transaction spans every table."""
