// Package hub fetches model repositories from the Hugging Face Hub into the cache
// that Python's huggingface_hub uses, speaking its HTTP protocol:
//
//	GET  {endpoint}/api/models/{repo}/revision/{revision}   the commit and the file list
//	HEAD {endpoint}/{repo}/resolve/{commit}/{file}          X-Repo-Commit, ETag / X-Linked-Etag, X-Linked-Size, Location
//	GET  the file (or the CDN URL it redirects to), resuming with Range
//
// The cache (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub) holds
// models--ORG--NAME/{blobs/ETAG, snapshots/COMMIT/FILE → ../../blobs/ETAG,
// refs/REVISION}: a file either program downloaded is found by the other without a
// network call. Downloads go to blobs/ETAG.incomplete (resumed with Range when a
// previous run was cut), are checked against their SHA-256 when the Hub gives one (LFS
// files), and are renamed into place under an flock on
// .locks/models--ORG--NAME/ETAG.lock, the lock huggingface_hub takes, so two
// processes never write the same blob. HF_TOKEN is sent as a bearer token to the
// endpoint (never to another host a download redirects to, never logged);
// HF_HUB_OFFLINE=1 answers from the cache alone.
//
// Only what Lumen's models use is fetched: config.json, model.safetensors (or the
// sharded index and its shards), the tokenizer files and sentence-transformers'
// modules.json and module configs. A repository with only pytorch_model.bin is refused:
// pickle files are not loaded.
package hub

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultEndpoint is the Hub's address when HF_ENDPOINT is not set.
const DefaultEndpoint = "https://huggingface.co"

// Errors a caller can tell apart with errors.Is.
var (
	ErrNotFound     = errors.New("hub: not found")
	ErrUnauthorized = errors.New("hub: authentication required")
	ErrForbidden    = errors.New("hub: access denied")
	ErrNotCached    = errors.New("hub: not in the cache (offline)")
	ErrPickleOnly   = errors.New("hub: the repository has only PyTorch pickle weights")
)

// Client fetches repositories. The zero value is not usable: use FromEnv and adjust.
type Client struct {
	Endpoint string       // without a trailing slash
	Token    string       // bearer token for the endpoint ("" for none)
	CacheDir string       // the hub cache directory
	Offline  bool         // answer from the cache only
	HTTP     *http.Client // nil: a client with a 30 s header timeout
	Retries  int          // attempts after the first for 429, 5xx and network errors
	// Progress, when not nil, is called as a file downloads: bytes done of total
	// (total -1 when unknown).
	Progress func(file string, done, total int64)

	retryWait time.Duration // the first back-off (0: 500 ms); tests shorten it
}

// FromEnv returns a client configured as huggingface_hub is: HF_ENDPOINT, HF_TOKEN,
// HF_HUB_CACHE / HF_HOME, HF_HUB_OFFLINE.
func FromEnv() *Client {
	cache := os.Getenv("HF_HUB_CACHE")
	if cache == "" {
		home := os.Getenv("HF_HOME")
		if home == "" {
			base := os.Getenv("XDG_CACHE_HOME")
			if base == "" {
				h, _ := os.UserHomeDir()
				base = filepath.Join(h, ".cache")
			}
			home = filepath.Join(base, "huggingface")
		}
		cache = filepath.Join(home, "hub")
	}
	return &Client{
		Endpoint: strings.TrimRight(cmp.Or(os.Getenv("HF_ENDPOINT"), DefaultEndpoint), "/"),
		Token:    os.Getenv("HF_TOKEN"),
		CacheDir: cache,
		Offline:  truthy(os.Getenv("HF_HUB_OFFLINE")),
		Retries:  4,
	}
}

func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

var (
	repoPart = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$`)
	commitRe = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// ParseRef splits "ORG/NAME[@REVISION]" (or a bare "NAME") into the repository id and
// the revision ("main" when none is given).
func ParseRef(ref string) (repo, revision string, err error) {
	repo, revision, _ = strings.Cut(ref, "@")
	revision = cmp.Or(revision, "main")
	parts := strings.Split(repo, "/")
	if len(parts) > 2 || slices.ContainsFunc(parts, func(p string) bool { return !repoPart.MatchString(p) || strings.Contains(p, "..") }) {
		return "", "", fmt.Errorf("hub: %q is not a repository id (ORG/NAME[@REVISION])", ref)
	}
	if strings.ContainsAny(revision, "\x00\n") || strings.Contains(revision, "..") || len(revision) > 255 {
		return "", "", fmt.Errorf("hub: %q is not a revision", revision)
	}
	return repo, revision, nil
}

// folder is the cache directory of a model repository.
func (c *Client) folder(repo string) string {
	return filepath.Join(c.CacheDir, "models--"+strings.ReplaceAll(repo, "/", "--"))
}

// Snapshot returns the local directory of repo at revision with every file Lumen uses
// (see the package comment), downloading what the cache lacks. Offline, it answers
// from the cache alone.
func (c *Client) Snapshot(ctx context.Context, repo, revision string) (string, error) {
	if _, _, err := ParseRef(repo + "@" + revision); err != nil {
		return "", err
	}
	if c.Offline {
		return c.cachedSnapshot(repo, revision)
	}
	info, err := c.repoInfo(ctx, repo, revision)
	if err != nil {
		return "", err
	}
	files, err := c.wanted(ctx, repo, info)
	if err != nil {
		return "", err
	}
	for _, f := range files {
		if _, err := c.download(ctx, repo, info.SHA, f); err != nil {
			return "", err
		}
	}
	if revision != info.SHA {
		if err := writeAtomic(filepath.Join(c.folder(repo), "refs", revision), []byte(info.SHA)); err != nil {
			return "", fmt.Errorf("hub: %w", err)
		}
	}
	return filepath.Join(c.folder(repo), "snapshots", info.SHA), nil
}

// Download returns the local path of one file of repo at revision, downloading it if
// the cache lacks it.
func (c *Client) Download(ctx context.Context, repo, revision, file string) (string, error) {
	if _, _, err := ParseRef(repo + "@" + revision); err != nil {
		return "", err
	}
	if err := checkFileName(file); err != nil {
		return "", err
	}
	if c.Offline {
		commit, err := c.cachedCommit(repo, revision)
		if err != nil {
			return "", err
		}
		p := filepath.Join(c.folder(repo), "snapshots", commit, filepath.FromSlash(file))
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%w: %s/%s at %s (%s)", ErrNotCached, repo, file, revision, p)
		}
		return p, nil
	}
	return c.download(ctx, repo, revision, file)
}

func checkFileName(file string) error {
	if file == "" || path.IsAbs(file) || strings.Contains(file, "\\") || path.Clean(file) != file || strings.HasPrefix(file, "../") || file == ".." {
		return fmt.Errorf("hub: %q is not a file name inside a repository", file)
	}
	return nil
}

// cachedCommit resolves revision from the cache: a commit hash, or refs/REVISION.
func (c *Client) cachedCommit(repo, revision string) (string, error) {
	if commitRe.MatchString(revision) {
		return revision, nil
	}
	raw, err := os.ReadFile(filepath.Join(c.folder(repo), "refs", revision))
	if err != nil {
		return "", fmt.Errorf("%w: no revision %q of %s in %s", ErrNotCached, revision, repo, c.CacheDir)
	}
	commit := strings.TrimSpace(string(raw))
	if !commitRe.MatchString(commit) {
		return "", fmt.Errorf("hub: %s: %q is not a commit hash", filepath.Join(c.folder(repo), "refs", revision), commit)
	}
	return commit, nil
}

func (c *Client) cachedSnapshot(repo, revision string) (string, error) {
	commit, err := c.cachedCommit(repo, revision)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(c.folder(repo), "snapshots", commit)
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		return "", fmt.Errorf("%w: %s at %s has no config.json in %s", ErrNotCached, repo, revision, dir)
	}
	return dir, nil
}

// repoInfo is the part of /api/models/{repo}/revision/{revision} used here.
type repoInfo struct {
	SHA      string `json:"sha"`
	Siblings []struct {
		RFilename string `json:"rfilename"`
	} `json:"siblings"`
}

func (c *Client) repoInfo(ctx context.Context, repo, revision string) (*repoInfo, error) {
	u := c.Endpoint + "/api/models/" + repo + "/revision/" + url.PathEscape(revision)
	resp, err := c.do(ctx, http.MethodGet, u, nil, repo, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var info repoInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&info); err != nil {
		return nil, fmt.Errorf("hub: %s: the repository description is not JSON: %w", u, err)
	}
	if !commitRe.MatchString(info.SHA) {
		return nil, fmt.Errorf("hub: %s: %q is not a commit hash", u, info.SHA)
	}
	return &info, nil
}

// tokenizerFiles and the sentence-transformers files are fetched when present.
var optionalFiles = []string{
	"vocab.json", "merges.txt", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
	"modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
}

var moduleConfig = regexp.MustCompile(`^[0-9]+_[A-Za-z]+/config\.json$`)

// wanted picks the files Lumen loads from a repository's file list.
func (c *Client) wanted(ctx context.Context, repo string, info *repoInfo) ([]string, error) {
	have := map[string]bool{}
	for _, s := range info.Siblings {
		have[s.RFilename] = true
	}
	if !have["config.json"] {
		return nil, fmt.Errorf("%w: %s has no config.json at %s: not a transformers model repository", ErrNotFound, repo, info.SHA)
	}
	files := []string{"config.json"}
	switch {
	case have["model.safetensors"]:
		files = append(files, "model.safetensors")
	case have["model.safetensors.index.json"]:
		idx, err := c.download(ctx, repo, info.SHA, "model.safetensors.index.json")
		if err != nil {
			return nil, err
		}
		shards, err := shardsOf(idx)
		if err != nil {
			return nil, err
		}
		files = append(files, "model.safetensors.index.json")
		files = append(files, shards...)
	case have["pytorch_model.bin"] || have["pytorch_model.bin.index.json"]:
		return nil, fmt.Errorf("%w: %s@%s has pytorch_model.bin and no model.safetensors; Lumen does not load pickle files "+
			"(they can run code). Convert it (transformers: model.save_pretrained(dir, safe_serialization=True)) or use a "+
			"revision with safetensors weights", ErrPickleOnly, repo, info.SHA)
	default:
		return nil, fmt.Errorf("%w: %s@%s has no model.safetensors", ErrNotFound, repo, info.SHA)
	}
	for _, f := range optionalFiles {
		if have[f] {
			files = append(files, f)
		}
	}
	for _, s := range info.Siblings {
		if moduleConfig.MatchString(s.RFilename) {
			files = append(files, s.RFilename)
		}
	}
	return files, nil
}

// shardsOf lists the shard files of a model.safetensors.index.json.
func shardsOf(indexPath string) ([]string, error) {
	raw, err := os.ReadFile(indexPath)
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("hub: %s: %w", indexPath, err)
	}
	var shards []string
	for _, f := range idx.WeightMap {
		if err := checkFileName(f); err != nil || !strings.HasSuffix(f, ".safetensors") {
			return nil, fmt.Errorf("hub: %s: shard %q is not a .safetensors file of the repository", indexPath, f)
		}
		if !slices.Contains(shards, f) {
			shards = append(shards, f)
		}
	}
	slices.Sort(shards)
	return shards, nil
}

// fileMeta is what HEAD on /resolve/ says of a file.
type fileMeta struct {
	commit   string
	etag     string // the blob's name: the SHA-256 for LFS files, the git blob id otherwise
	size     int64  // -1 when unknown
	location string // where to GET it
}

var etagRe = regexp.MustCompile(`^[0-9A-Za-z_-]{1,128}$`)

// normalizeETag strips a weak prefix and the quotes, as huggingface_hub does.
func normalizeETag(e string) string {
	return strings.Trim(strings.TrimPrefix(strings.TrimSpace(e), "W/"), `"`)
}

func (c *Client) head(ctx context.Context, repo, revision, file string) (*fileMeta, error) {
	u := c.Endpoint + "/" + repo + "/resolve/" + url.PathEscape(revision) + "/" + escapePath(file)
	resp, err := c.do(ctx, http.MethodHead, u, nil, repo, file)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	h := resp.Header
	m := &fileMeta{commit: h.Get("X-Repo-Commit"), etag: normalizeETag(cmp.Or(h.Get("X-Linked-Etag"), h.Get("ETag"))), size: -1, location: u}
	if loc := h.Get("Location"); loc != "" { // a redirect to the file store
		ref, err := resp.Request.URL.Parse(loc)
		if err != nil {
			return nil, fmt.Errorf("hub: %s: bad Location %q", u, loc)
		}
		m.location = ref.String()
	}
	if s := cmp.Or(h.Get("X-Linked-Size"), h.Get("Content-Length")); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
			m.size = n
		}
	}
	switch {
	case !commitRe.MatchString(m.commit):
		return nil, fmt.Errorf("hub: %s: the server sent no commit hash (X-Repo-Commit %q): is HF_ENDPOINT a Hub?", u, m.commit)
	case !etagRe.MatchString(m.etag):
		return nil, fmt.Errorf("hub: %s: the server sent no usable ETag (%q)", u, m.etag)
	}
	return m, nil
}

func escapePath(file string) string {
	parts := strings.Split(file, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// download fetches one file into the cache (unless it is there) and returns its
// snapshot path.
func (c *Client) download(ctx context.Context, repo, revision, file string) (string, error) {
	if err := checkFileName(file); err != nil {
		return "", err
	}
	folder := c.folder(repo)
	if commitRe.MatchString(revision) { // a pinned commit already in the cache needs no request
		p := filepath.Join(folder, "snapshots", revision, filepath.FromSlash(file))
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	meta, err := c.head(ctx, repo, revision, file)
	if err != nil {
		return "", err
	}
	if revision != meta.commit { // as huggingface_hub does: an offline run finds the file by its revision
		if err := writeAtomic(filepath.Join(folder, "refs", revision), []byte(meta.commit)); err != nil {
			return "", fmt.Errorf("hub: %w", err)
		}
	}
	pointer := filepath.Join(folder, "snapshots", meta.commit, filepath.FromSlash(file))
	blob := filepath.Join(folder, "blobs", meta.etag)
	if _, err := os.Stat(pointer); err == nil {
		return pointer, nil
	}
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return "", fmt.Errorf("hub: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(c.CacheDir, ".locks", filepath.Base(folder), meta.etag+".lock"))
	if err != nil {
		return "", fmt.Errorf("hub: %w", err)
	}
	defer unlock()
	if _, err := os.Stat(blob); err != nil { // another process may have finished it while we waited
		if err := c.fetch(ctx, meta, blob, repo, file); err != nil {
			return "", err
		}
	}
	if err := link(pointer, blob); err != nil {
		return "", fmt.Errorf("hub: %w", err)
	}
	return pointer, nil
}

// fetch downloads meta's file into blob through blob.incomplete, resuming what a
// previous attempt left there (a transfer that breaks off is resumed up to Retries
// times; statuses were retried by do), and checks the SHA-256 of LFS files.
func (c *Client) fetch(ctx context.Context, meta *fileMeta, blob, repo, file string) error {
	tmp := blob + ".incomplete"
	for attempt := 0; ; attempt++ {
		err := c.fetchOnce(ctx, meta, tmp, repo, file)
		if err == nil {
			break
		}
		var perm *permanentError
		if errors.As(err, &perm) || attempt >= c.Retries || ctx.Err() != nil {
			return err
		}
		if err := sleep(ctx, c.backoff(attempt, 0)); err != nil {
			return err
		}
	}
	if len(meta.etag) == 64 && isHex(meta.etag) { // an LFS file: its ETag is its SHA-256
		sum, err := fileSHA256(tmp)
		if err != nil {
			return fmt.Errorf("hub: %w", err)
		}
		if sum != meta.etag {
			os.Remove(tmp)
			return fmt.Errorf("hub: %s/%s: downloaded SHA-256 %s, the Hub says %s: the download was corrupted (removed; try again)", repo, file, sum, meta.etag)
		}
	}
	if err := os.Rename(tmp, blob); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	return nil
}

// fetchOnce appends the rest of the file to tmp: one GET with Range from what tmp
// holds. A network error partway leaves tmp for the next attempt.
func (c *Client) fetchOnce(ctx context.Context, meta *fileMeta, tmp, repo, file string) error {
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return &permanentError{fmt.Errorf("hub: %w", err)}
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return &permanentError{fmt.Errorf("hub: %w", err)}
	}
	if meta.size >= 0 && have == meta.size {
		return nil
	}
	if meta.size >= 0 && have > meta.size { // not this file: start again
		if err := f.Truncate(0); err != nil {
			return &permanentError{fmt.Errorf("hub: %w", err)}
		}
		have, _ = f.Seek(0, io.SeekStart)
	}
	hdr := http.Header{}
	if have > 0 {
		hdr.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := c.do(ctx, http.MethodGet, meta.location, hdr, repo, file)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
	case resp.StatusCode == http.StatusOK: // no Range support: from the start
		if err := f.Truncate(0); err != nil {
			return &permanentError{fmt.Errorf("hub: %w", err)}
		}
		if have, err = f.Seek(0, io.SeekStart); err != nil {
			return &permanentError{fmt.Errorf("hub: %w", err)}
		}
	default:
		return fmt.Errorf("hub: %s/%s: unexpected status %s for a range request", repo, file, resp.Status)
	}
	w := &progressWriter{w: f, done: have, total: meta.size, file: file, report: c.Progress}
	body := io.Reader(resp.Body)
	if meta.size >= 0 { // a server that sends more than it announced cannot fill the disk
		body = io.LimitReader(body, meta.size-have+1)
	}
	n, err := io.Copy(w, body)
	if err != nil {
		return fmt.Errorf("hub: %s/%s: the download broke off after %d bytes: %w", repo, file, have+n, err)
	}
	if meta.size >= 0 && have+n != meta.size {
		return fmt.Errorf("hub: %s/%s: got %d bytes, the Hub said %d", repo, file, have+n, meta.size)
	}
	return nil
}

type progressWriter struct {
	w           io.Writer
	done, total int64
	file        string
	report      func(string, int64, int64)
	last        time.Time
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	if p.report != nil && (time.Since(p.last) > 100*time.Millisecond || p.done == p.total) {
		p.last = time.Now()
		p.report(p.file, p.done, p.total)
	}
	return n, err
}

// permanentError is not retried.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// do sends a request to the Hub with the token (to the endpoint's host only; Go drops
// it on a redirect to another host), retrying 429, 5xx and network errors with
// back-off. HEAD requests do not follow absolute redirects (the file store's address
// is what they are for). Errors name the repository and file, never the token.
func (c *Client) do(ctx context.Context, method, u string, hdr http.Header, repo, file string) (*http.Response, error) {
	client := c.HTTP
	if client == nil {
		client = &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: 30 * time.Second}}
	}
	cl := *client
	cl.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 10 {
			return errors.New("too many redirects")
		}
		// On HEAD, as huggingface_hub: follow relative redirects only (a renamed
		// repository); an absolute one leads to the file store, wherever it is, and
		// the redirect itself carries the commit, ETag and size: report it.
		if method == http.MethodHead && req.Response != nil {
			if loc, err := url.Parse(req.Response.Header.Get("Location")); err != nil || loc.IsAbs() || loc.Host != "" {
				return http.ErrUseLastResponse
			}
		}
		if req.URL.Host != via[0].URL.Host {
			req.Header.Del("Authorization") // the token stays with the endpoint (port included)
		}
		return nil
	}
	client = &cl
	what := repo
	if file != "" {
		what += "/" + file
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, u, nil)
		if err != nil {
			return nil, &permanentError{fmt.Errorf("hub: %w", err)}
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		req.Header.Set("User-Agent", "lumen-hub/1")
		req.Header.Set("Accept-Encoding", "identity")
		if c.Token != "" && strings.HasPrefix(u, c.Endpoint+"/") {
			req.Header.Set("Authorization", "Bearer "+c.Token)
		}
		resp, err := client.Do(req)
		var retryAfter time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			err = fmt.Errorf("hub: %s: %w", what, err)
		case resp.StatusCode < 300 || (method == http.MethodHead && resp.StatusCode < 400):
			return resp, nil
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"))
			err = fmt.Errorf("hub: %s: %s", what, resp.Status)
			resp.Body.Close()
		default:
			err = statusError(resp, what, c.Endpoint, repo)
			resp.Body.Close()
			return nil, &permanentError{err}
		}
		if attempt >= c.Retries {
			return nil, &permanentError{err} // retried enough: the caller must not retry it again
		}
		if err := sleep(ctx, c.backoff(attempt, retryAfter)); err != nil {
			return nil, err
		}
	}
}

// statusError turns a 4xx into an error that says what to do.
func statusError(resp *http.Response, what, endpoint, repo string) error {
	code := resp.Header.Get("X-Error-Code")
	msg := strings.TrimSpace(resp.Header.Get("X-Error-Message"))
	if msg != "" {
		msg = " (" + msg + ")"
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("%w: %s%s: the repository is private or gated, or does not exist; set HF_TOKEN to a token that can read it", ErrUnauthorized, what, msg)
	case resp.StatusCode == http.StatusForbidden || code == "GatedRepo":
		return fmt.Errorf("%w: %s%s: the token may not read it; if it is gated, accept its conditions at %s/%s", ErrForbidden, what, msg, endpoint, repo)
	case code == "RevisionNotFound":
		return fmt.Errorf("%w: revision of %s%s", ErrNotFound, what, msg)
	case code == "EntryNotFound":
		return fmt.Errorf("%w: file %s%s", ErrNotFound, what, msg)
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: %s%s", ErrNotFound, what, msg)
	}
	return fmt.Errorf("hub: %s: %s%s", what, resp.Status, msg)
}

func parseRetryAfter(s string) time.Duration {
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 {
		return min(time.Duration(n)*time.Second, time.Minute)
	}
	return 0
}

// backoff is 0.5 s, 1 s, 2 s … (at most 16 s) with ±25 % jitter, or the server's
// Retry-After when it said one.
func (c *Client) backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return retryAfter
	}
	d := min(cmp.Or(c.retryWait, 500*time.Millisecond)<<attempt, 16*time.Second)
	return d - d/4 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// link points the snapshot file at its blob with a relative symlink, as
// huggingface_hub does (a copy where symlinks are not allowed).
func link(pointer, blob string) error {
	if err := os.MkdirAll(filepath.Dir(pointer), 0o755); err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(pointer), blob)
	if err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.tmp%d", pointer, rand.Int64())
	if err := os.Symlink(rel, tmp); err != nil {
		raw, rerr := os.ReadFile(blob)
		if rerr != nil {
			return err
		}
		return writeAtomic(pointer, raw)
	}
	return os.Rename(tmp, pointer)
}

func writeAtomic(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.tmp%d", p, rand.Int64())
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}
