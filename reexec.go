package main

// reexecInit runs the container init when the binary was re-executed as one.
func reexecInit() bool { return false }
