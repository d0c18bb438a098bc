// Package auctiontest helps test the auction: Simulate runs auction.Place on
// in-memory cells and reports the distribution, failures and duration (as
// Diego's simulation package does); NewCells, Preload and LRPWork build its
// inputs; FakeSource and FakeProposer are hand-written, scriptable fakes of
// the runner's Source and Proposer, and FakeSource.ApplyCommand is a small
// stand-in for the store so a runner sees the results of its proposals.
//
// Concurrency: FakeSource and FakeProposer are safe for concurrent use;
// Simulate is as safe as auction.Place.
package auctiontest
