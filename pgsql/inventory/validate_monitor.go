package inventory

import "net/url"

func init() { infraChecks = append(infraChecks, (*validator).alertWebhook) }

// alertWebhook checks alert_webhook_url of an infra host: empty, or an
// http(s) URL the evaluator can post to.
func (v *validator) alertWebhook(h *Host) {
	s := h.Params.AlertWebhookURL
	if s == "" {
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.c.errorf(v.at(h, "alert_webhook_url"), quote(s), "allowed: an http:// or https:// URL, or '' for none", "invalid alert webhook URL")
	}
}
