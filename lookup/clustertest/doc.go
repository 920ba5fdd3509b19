// Package clustertest holds the integration tests of a cluster on one
// machine: several nsqd (engine/nsqd) registered with two nsqlookupd
// (lookup), driven by go-nsq consumers that find the nsqd through
// nsqlookupd. It has no code of its own.
package clustertest
