// Package lifecycletest holds hand-written, scriptable fakes for package
// lifecycle's interfaces: FakeChecker (a Checker whose results are a
// script) and FakeRunner/FakeProcess (a ProcessRunner whose processes exit
// when told to and react to SIGTERM/SIGKILL like a well-behaved process).
//
// Concurrency: every fake is safe for concurrent use.
package lifecycletest
