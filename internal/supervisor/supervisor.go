package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Supervisor runs parts and shutdown steps. Build it with New, add parts (Go) and steps
// (OnStop), then call Run once. It is not safe for concurrent use before Run.
type Supervisor struct {
	logger *slog.Logger
	parts  []*Part
	steps  []step
	// ended receives each part as it returns.
	ended chan *Part
	// straggle bounds the wait for parts still running after the last step.
	straggle time.Duration
}

// Part is one long-lived goroutine of the daemon.
type Part struct {
	name   string
	run    func(ctx context.Context) error
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	err    error // set before done closes
}

type step struct {
	name   string
	budget time.Duration
	fn     func(ctx context.Context) error
}

// New returns an empty supervisor that logs to logger.
func New(logger *slog.Logger) *Supervisor {
	return &Supervisor{logger: logger.With("component", "supervisor"), straggle: time.Second}
}

// Go adds a part. run blocks until its context ends (then it returns nil) or it fails (then
// its error stops the daemon); a part that returns nil earlier has finished its work, which
// stops nothing. Parts start in the order added.
func (s *Supervisor) Go(name string, run func(ctx context.Context) error) *Part {
	ctx, cancel := context.WithCancel(context.Background())
	p := &Part{name: name, run: run, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	s.parts = append(s.parts, p)
	return p
}

// Stop cancels the part's context and waits, until ctx ends, for it to return; it returns the
// part's error. It is safe to call more than once, and on a part that has ended.
func (p *Part) Stop(ctx context.Context) error {
	p.cancel()
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return fmt.Errorf("%s did not stop: %w", p.name, ctx.Err())
	}
}

// OnStop adds a shutdown step. Steps run in the order added, after ctx of Run ends or a part
// fails; each gets a context bounded by budget. A step still running at its budget is left
// behind (logged by name) and the next step starts.
func (s *Supervisor) OnStop(name string, budget time.Duration, fn func(ctx context.Context) error) {
	s.steps = append(s.steps, step{name: name, budget: budget, fn: fn})
}

// Run starts every part and waits until ctx ends or a part fails; then it runs the shutdown
// steps, stops the parts still running, and returns the failure that stopped the daemon (nil
// after a plain cancellation) joined with the steps' errors.
func (s *Supervisor) Run(ctx context.Context) error {
	s.ended = make(chan *Part, len(s.parts)) // never blocks a part, read or not
	for _, p := range s.parts {
		go func() {
			defer func() { s.ended <- p }()
			defer close(p.done)
			p.err = p.run(p.ctx)
		}()
	}
	cause := s.wait(ctx)
	s.logger.Info("shutting down", "steps", len(s.steps))
	start := time.Now()
	errs := []error{cause}
	for _, st := range s.steps {
		errs = append(errs, s.runStep(st))
	}
	errs = append(errs, s.stopRest())
	s.logger.Info("shutdown done", "took", time.Since(start).Round(time.Millisecond))
	return errors.Join(errs...)
}

// wait returns nil when ctx ends, or the error of the first part that fails.
func (s *Supervisor) wait(ctx context.Context) error {
	running := len(s.parts)
	for {
		select {
		case <-ctx.Done():
			return nil
		case p := <-s.ended:
			running--
			if p.err != nil {
				s.logger.Error("part failed, stopping", "part", p.name, "err", p.err)
				return &Failure{Part: p.name, Err: p.err}
			}
			s.logger.Debug("part finished", "part", p.name, "running", running)
		}
	}
}

// runStep runs one shutdown step within its budget.
func (s *Supervisor) runStep(st step) error {
	ctx, cancel := context.WithTimeout(context.Background(), st.budget)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- st.fn(ctx) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		// Left behind: it may still finish, but the next steps must not wait for it.
		err = fmt.Errorf("overran its budget of %s", st.budget)
	}
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		s.logger.Warn("shutdown step failed", "step", st.name, "took", took, "err", err)
		return fmt.Errorf("shutdown step %s: %w", st.name, err)
	}
	s.logger.Info("shutdown step done", "step", st.name, "took", took)
	return nil
}

// stopRest cancels the parts that are still running (no step stopped them) and waits a moment
// for them.
func (s *Supervisor) stopRest() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.straggle)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(s.parts))
	for i, p := range s.parts {
		select {
		case <-p.done:
			continue // ended, and its error reported, already
		default:
		}
		wg.Go(func() {
			if err := p.Stop(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errs[i] = err
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Failure is the error of the part that stopped the daemon; the supervisor has logged it.
type Failure struct {
	Part string
	Err  error
}

func (f *Failure) Error() string { return f.Part + ": " + f.Err.Error() }

func (f *Failure) Unwrap() error { return f.Err }
