package review

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/crossteam/crossteam/config"
)

// CheckWebhook says whether hook is an http(s) URL, without showing it.
func CheckWebhook(hook config.Secret) error {
	u, err := url.Parse(string(hook))
	if err != nil {
		return errors.New("webhook: the URL in the webhook file is not a valid URL")
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("webhook: the URL in the webhook file must be http or https")
	}
	return nil
}

// Post sends the Markdown digest to a Slack-compatible incoming webhook
// (Slack, Mattermost, a Teams workflow) as {"text": ...}. The URL is a
// secret (its path is the credential): errors never include it.
func Post(ctx context.Context, client *http.Client, hook config.Secret, text string) error {
	body, err := json.Marshal(struct {
		Text string `json:"text"`
	}{text})
	if err != nil {
		return err
	}
	if err := CheckWebhook(hook); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, string(hook), bytes.NewReader(body))
	if err != nil {
		return errors.New("webhook: the URL in the webhook file is not a valid URL")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error prints the whole URL; keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhook: posting the digest to host %s: %s", req.URL.Host, strings.ReplaceAll(err.Error(), string(hook), "<secret>"))
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook: host %s answered %s: %s", req.URL.Host, resp.Status, strings.TrimSpace(strings.ReplaceAll(string(reply), string(hook), "<secret>")))
	}
	return nil
}
