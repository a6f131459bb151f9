package main

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
)

// The messages of the example's protocol, in text so that they read well
// in a packet capture:
//
//	append term=T first=F count=N\n ENTRY...   leader -> follower, bulk class, one stream
//	ack index=I                                follower -> leader, bulk class
//	heartbeat term=T commit=C sent=NS          leader -> follower, control class
//
// An append carries N entries of entrySize bytes, from index F; each entry
// is "entry index=I term=T " padded with dots. sent is the leader's clock
// in Unix nanoseconds: the nodes share one machine here, so a follower can
// tell how late a heartbeat came.

// term is the leader's term: it never changes in this example.
const term = 1

// entryStream is the ordered bulk stream of the log: its appends arrive in
// the order they were sent, whatever the pool size.
const entryStream = 1

// appendAppend returns an append of count entries from index first.
func appendAppend(buf []byte, first, count int) []byte {
	buf = fmt.Appendf(buf[:0], "append term=%d first=%d count=%d\n", term, first, count)
	for i := range count {
		start := len(buf)
		buf = fmt.Appendf(buf, "entry index=%d term=%d ", first+i, term)
		for len(buf)-start < entrySize {
			buf = append(buf, '.')
		}
	}
	return buf
}

// parseAppend returns the indexes of an append's first and last entries,
// having checked that each entry is where its index says.
func parseAppend(p []byte) (first, last int, err error) {
	header, body, ok := bytes.Cut(p, []byte("\n"))
	var t, count int
	if ok {
		_, err = fmt.Sscanf(string(header), "append term=%d first=%d count=%d", &t, &first, &count)
	}
	if !ok || err != nil || count < 1 || len(body) != count*entrySize {
		return 0, 0, fmt.Errorf("bad append %.40q", p)
	}
	for i := range count {
		want := fmt.Appendf(nil, "entry index=%d ", first+i)
		if !bytes.HasPrefix(body[i*entrySize:], want) {
			return 0, 0, fmt.Errorf("append from %d: entry %d is not at its place", first, first+i)
		}
	}
	return first, first + count - 1, nil
}

// appendAck returns the acknowledgement of the entries up to index.
func appendAck(buf []byte, index int) []byte {
	return strconv.AppendInt(append(buf[:0], "ack index="...), int64(index), 10)
}

// parseAck returns the index an acknowledgement names.
func parseAck(p []byte) (int, error) {
	rest, ok := bytes.CutPrefix(p, []byte("ack index="))
	if !ok {
		return 0, fmt.Errorf("bad ack %q", p)
	}
	index, err := strconv.Atoi(string(rest))
	if err != nil {
		return 0, fmt.Errorf("bad ack %q: %w", p, err)
	}
	return index, nil
}

// appendHeartbeat returns a heartbeat carrying the commit index and the
// time it was made.
func appendHeartbeat(buf []byte, commit int, sent time.Time) []byte {
	return fmt.Appendf(buf[:0], "heartbeat term=%d commit=%d sent=%d", term, commit, sent.UnixNano())
}

// parseHeartbeat returns the time a heartbeat was made.
func parseHeartbeat(p []byte) (time.Time, error) {
	var t, commit int
	var sent int64
	if _, err := fmt.Sscanf(string(p), "heartbeat term=%d commit=%d sent=%d", &t, &commit, &sent); err != nil {
		return time.Time{}, fmt.Errorf("bad heartbeat %q: %w", p, err)
	}
	return time.Unix(0, sent), nil
}
