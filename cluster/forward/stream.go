package forward

import (
	"context"
	"errors"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
)

// stream runs one Forward stream to addr until it fails, the leader changes (errLeaderChanged)
// or ctx ends (nil). accepted reports whether the leader took the stream.
func (c *Client) stream(ctx context.Context, conn *grpc.ClientConn, addr string) (accepted bool, err error) {
	sctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.opts.Token()))
	defer cancel()
	st, err := conn.NewStream(sctx, &forwardStreamDesc, forwardMethod, grpc.ForceCodecV2(c.codec))
	if err != nil {
		return false, err
	}
	// No frame goes before the leader has accepted the stream: a refusal then loses no call.
	stop := time.AfterFunc(handshakeTimeout, cancel)
	md, err := st.Header()
	stop.Stop()
	if err != nil {
		return false, err
	}
	if len(md.Get(acceptedKey)) == 0 {
		return false, st.RecvMsg(&frame{}) // the stream ended without headers: its status
	}
	// The server answers only at the end: RecvMsg returns when the stream ends, either way.
	done := make(chan error, 1)
	go func() { done <- st.RecvMsg(&frame{}) }()
	defer func() {
		cancel()
		if done != nil {
			<-done
		}
	}()
	flush := time.NewTicker(c.opts.FlushEvery)
	defer flush.Stop()
	check := time.NewTicker(c.opts.LeaderEvery)
	defer check.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return true, nil
		case err = <-done:
			done = nil
			if err == nil || errors.Is(err, io.EOF) {
				err = errors.New("leader ended the stream")
			}
			return true, err
		case <-flush.C:
			err = c.send(st, 1)
		case <-c.full:
			err = c.send(st, c.opts.BatchCalls)
		case <-check.C:
			if now, ok := c.opts.Leader(); !ok || now != addr {
				return true, c.closeStream(st, &done)
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) { // the server ended the stream: its status says why
				err = <-done
				done = nil
			}
			return true, err
		}
	}
}

// closeStream sends what is queued, closes the stream and waits a little for the old leader's
// Ack, so that the frames already written are taken before the stream moves.
func (c *Client) closeStream(st grpc.ClientStream, done *chan error) error {
	if err := c.send(st, 1); err == nil && st.CloseSend() == nil {
		select {
		case <-*done:
			*done = nil
		case <-time.After(closeTimeout):
		}
	}
	return errLeaderChanged
}

// send writes frames of the queued calls while at least least of them wait.
func (c *Client) send(st grpc.ClientStream, least int) error {
	for {
		var oldest time.Duration
		c.batch, oldest = c.q.take(c.batch[:0], least, c.opts.BatchCalls)
		if len(c.batch) == 0 {
			return nil
		}
		c.scratch = AppendBatch(c.scratch[:0], c.batch)
		clear(c.batch) // release the calls' strings
		n := float64(len(c.batch))
		if err := st.SendMsg(&outFrame{buf: mem.Copy(c.scratch, mem.DefaultBufferPool())}); err != nil {
			c.m.dropped.Add(n)
			return err
		}
		c.m.sent.Add(n)
		c.m.lag.Observe((time.Since(c.q.start) - oldest).Seconds())
	}
}
