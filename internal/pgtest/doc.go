// Package pgtest gives tests a real, throwaway PostgreSQL: there is no container engine here, so
// it runs initdb and pg_ctl from the PostgreSQL binaries into a temporary directory and starts a
// server on a free localhost port, once per test binary (Start, NewDatabase), or a private one
// that a fault test may stop and start (NewCluster). When OUTAGEWATCH_TEST_DATABASE_URL is set,
// the shared cluster is that server instead.
//
// Tests get a fresh database each (NewDatabase), dropped when they end. A package that uses the
// shared cluster stops it from TestMain:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		pgtest.StopAll()
//		os.Exit(code)
//	}
//
// PostgreSQL missing is a failure, never a skip: scripts/test.sh (the README's test command)
// installs it. The package is for tests only and must not be imported by production code.
package pgtest
