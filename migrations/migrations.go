package migrations

import (
	"embed"
	"io/fs"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Postgres holds the PostgreSQL migrations, named NNNNN_name.sql at the root of the FS.
var Postgres = mustSub("postgres")

// SQLite holds the SQLite migrations, named NNNNN_name.sql at the root of the FS.
var SQLite = mustSub("sqlite")

// mustSub panics only if the embedded directory is missing, which the go:embed pattern above
// already rules out at compile time.
func mustSub(dir string) fs.FS {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
