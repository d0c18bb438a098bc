// Package containers holds the end-to-end tests of diegod with real
// containers: a whole node (store, auction, cell, router) with the embedded
// libcontainer runtime. They need root and writable cgroups and skip with a
// message otherwise; CI runs them as root.
package containers
