/*
 * sqlite_int.h - shared by the files of the SQLite backend only.
 *
 * sqlite.c owns the connection and the record operations; migrations.c owns
 * the schema. Nothing outside src/store/sqlite/ includes this header.
 */
#ifndef ATT_STORE_SQLITE_SQLITE_INT_H
#define ATT_STORE_SQLITE_SQLITE_INT_H

#include <sqlite3.h>

#include "core/err.h"

/*
 * Map an SQLite result code (extended codes are on) to att_err:
 * BUSY/LOCKED -> ATT_ERR_STORE_BUSY, PRIMARYKEY/UNIQUE -> ATT_ERR_EXISTS,
 * other constraints -> ATT_ERR_STORE_CONSTRAINT, anything else ->
 * ATT_ERR_STORE (logged with SQLite's static description, never with values).
 */
att_err att_sqlite_err(int rc);
/* Run constant SQL (one or more statements, no parameters) to completion. */
att_err att_sqlite_exec(sqlite3 *db, const char *sql) ATT_WUR;
/* The highest version recorded in schema_migrations (0 for a new database). */
att_err att_sqlite_schema_version(sqlite3 *db, int *out) ATT_WUR;
/* Create schema_migrations if needed and apply every pending migration. */
att_err att_sqlite_migrate(sqlite3 *db) ATT_WUR;

#endif
