package patroni

import (
	"context"
	"net/http"
)

// Liveness is GET /liveness: nil while Patroni's heartbeat loop runs,
// whatever postgres is doing (bootstrapping, cloning, stopped). It must be
// a GET: Patroni answers OPTIONS and HEAD from the generic status handler,
// which says 503 whenever postgres is not running.
func (c *Client) Liveness(ctx context.Context) error {
	_, _, err := c.do(ctx, request{method: http.MethodGet, path: "/liveness", ok: []int{http.StatusOK}, timeout: queryTimeout})
	return err
}
