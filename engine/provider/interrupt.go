package provider

import "context"

// Interrupts and retries. A write that was sent must be allowed to finish
// after the first Ctrl-C (its answer is what the journal records), so
// engine/apply sends writes with a context that is never cancelled. Waiting
// to retry is another matter: a Kibana answering 503 would keep an
// interrupted apply busy for the whole retry_timeout. WithRetryWait attaches
// the cancellable context of the run to the request context; clients wait
// between attempts on RetryWait(ctx) and give up when it is done, without
// cancelling a request on the wire.

type retryWaitKey struct{}

// WithRetryWait returns ctx carrying wait as the context that bounds waits
// between retries (and the start of further attempts).
func WithRetryWait(ctx, wait context.Context) context.Context {
	return context.WithValue(ctx, retryWaitKey{}, wait)
}

// RetryWait returns the context that bounds waits between retries of a
// request made with ctx: the one attached with WithRetryWait, else ctx.
func RetryWait(ctx context.Context) context.Context {
	if w, ok := ctx.Value(retryWaitKey{}).(context.Context); ok {
		return w
	}
	return ctx
}
