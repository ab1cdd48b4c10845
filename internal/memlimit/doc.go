// Package memlimit keeps the daemon under its memory ceiling: it finds the ceiling (the
// memory.limit setting, else GOMEMLIMIT, else the cgroup v2 or v1 limit), says which Go soft
// limit to set below it, and sheds load before the process reaches it (Shedder.Shed, which
// admission control asks before accepting work).
//
// It owns no process-wide state: it never calls debug.SetMemoryLimit itself (cmd/watcher does,
// once, from Limits.SoftLimit), reads the file system only through the fs.FS it is given, and
// the environment only through the getenv it is given. It must not import any other outagewatch
// package.
package memlimit
