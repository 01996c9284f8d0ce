// Package hubtest is a fake Hugging Face Hub for tests: two loopback HTTP servers, the
// Hub itself and a file store its large (LFS) files redirect to, speaking the
// endpoints that package hub and Python's huggingface_hub use — the repository
// description, /resolve/ with its headers (X-Repo-Commit, ETag, X-Linked-Etag,
// X-Linked-Size), redirects, Range, bearer tokens, private and gated repositories and
// the Hub's error codes — with switches to fail, throttle, cut or corrupt downloads.
package hubtest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// Repo is one model repository at one commit.
type Repo struct {
	ID      string            // "org/name" or "name"
	Commit  string            // 40 hex digits
	Files   map[string][]byte // path in the repository → content
	LFS     map[string]bool   // served from the file store, ETag = SHA-256
	Private bool              // needs the token
	Gated   bool              // the token is refused with 403 GatedRepo
}

// Hub is the fake. Its fields may be changed between requests (under Lock).
type Hub struct {
	sync.Mutex
	API   *httptest.Server // the Hub: use API.URL as HF_ENDPOINT
	Store *httptest.Server // where LFS files redirect to (another host:port)
	Token string           // the token private repositories accept
	// StoreOnAPIHost makes LFS redirects absolute URLs on the Hub's own host (a
	// self-hosted Hub whose file store shares its address), served by API.
	StoreOnAPIHost bool

	repos map[string]*Repo

	// Failures to inject, keyed by request path (the store's paths are /store/SHA256).
	FailWith map[string][]int // statuses to answer before serving (e.g. 503, 429)
	CutAfter map[string]int   // send this many bytes of the body, then drop the connection (once)
	Corrupt  map[string]bool  // serve flipped bytes
	Oversize map[string]int   // serve this many bytes more than the file has

	// What the servers saw.
	Requests     []string // "METHOD path" on either server, in order
	RangeHeaders []string // Range headers the store received
	StoreAuth    []string // Authorization headers the store received (must stay empty)
}

// New starts a fake Hub with the given repositories; t.Cleanup-style closing is the
// caller's (Close).
func New(repos ...*Repo) *Hub {
	h := &Hub{repos: map[string]*Repo{}, FailWith: map[string][]int{}, CutAfter: map[string]int{}, Corrupt: map[string]bool{}, Oversize: map[string]int{}, Token: "hf_test_token"}
	for _, r := range repos {
		h.repos[r.ID] = r
	}
	h.API = httptest.NewServer(http.HandlerFunc(h.serveAPI))
	h.Store = httptest.NewServer(http.HandlerFunc(h.serveStore))
	return h
}

// Close stops both servers.
func (h *Hub) Close() {
	h.API.Close()
	h.Store.Close()
}

// Add adds or replaces a repository.
func (h *Hub) Add(r *Repo) {
	h.Lock()
	defer h.Unlock()
	h.repos[r.ID] = r
}

// Count returns how many requests matched method and a path prefix.
func (h *Hub) Count(method, prefix string) int {
	h.Lock()
	defer h.Unlock()
	n := 0
	for _, r := range h.Requests {
		if m, p, _ := strings.Cut(r, " "); m == method && strings.HasPrefix(p, prefix) {
			n++
		}
	}
	return n
}

// Commit makes a commit hash from a seed, for tests.
func Commit(seed string) string {
	s := sha1.Sum([]byte(seed))
	return hex.EncodeToString(s[:])
}

func gitBlobID(b []byte) string {
	s := sha1.Sum(append([]byte(fmt.Sprintf("blob %d\x00", len(b))), b...))
	return hex.EncodeToString(s[:])
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fail answers an injected failure for path, if one is pending.
func (h *Hub) fail(w http.ResponseWriter, path string) bool {
	codes := h.FailWith[path]
	if len(codes) == 0 {
		return false
	}
	h.FailWith[path] = codes[1:]
	if codes[0] == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "0")
	}
	w.WriteHeader(codes[0])
	return true
}

func hubError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Error-Code", code)
	w.Header().Set("X-Error-Message", msg)
	http.Error(w, msg, status)
}

// authorize checks r's token against repo; it answers and returns false when refused.
func (h *Hub) authorize(w http.ResponseWriter, r *http.Request, repo *Repo) bool {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case repo.Private && tok != h.Token:
		hubError(w, http.StatusUnauthorized, "RepoNotFound", "Repository not found or private")
		return false
	case repo.Gated && tok != "" && tok == h.Token:
		hubError(w, http.StatusForbidden, "GatedRepo", "Access to model "+repo.ID+" is restricted")
		return false
	case repo.Gated:
		hubError(w, http.StatusUnauthorized, "GatedRepo", "Access to model "+repo.ID+" is restricted: log in")
		return false
	}
	return true
}

func (h *Hub) serveAPI(w http.ResponseWriter, r *http.Request) {
	h.Lock()
	if h.StoreOnAPIHost && strings.HasPrefix(r.URL.Path, "/store/") {
		h.Unlock()
		h.serveStore(w, r)
		return
	}
	defer h.Unlock()
	h.Requests = append(h.Requests, r.Method+" "+r.URL.Path)
	if h.fail(w, r.URL.Path) {
		return
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/api/models/"); ok && r.Method == http.MethodGet {
		id, rev, ok := strings.Cut(rest, "/revision/")
		repo := h.repos[id]
		switch {
		case !ok || repo == nil:
			hubError(w, http.StatusNotFound, "RepoNotFound", "Repository not found")
		case !h.authorize(w, r, repo):
		case rev != "main" && rev != repo.Commit:
			hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		default:
			var sib []map[string]string
			for _, name := range slices.Sorted(maps.Keys(repo.Files)) {
				sib = append(sib, map[string]string{"rfilename": name})
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"id": repo.ID, "modelId": repo.ID, "sha": repo.Commit, "siblings": sib,
				"private": repo.Private, "gated": repo.Gated, "tags": []string{}, "lastModified": time.Unix(0, 0).UTC().Format(time.RFC3339)})
		}
		return
	}
	// /{repo}/resolve/{rev}/{file}
	before, after, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/resolve/")
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	repo := h.repos[before]
	if repo == nil {
		hubError(w, http.StatusNotFound, "RepoNotFound", "Repository not found")
		return
	}
	if !h.authorize(w, r, repo) {
		return
	}
	rev, file, _ := strings.Cut(after, "/")
	if rev != "main" && rev != repo.Commit {
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return
	}
	data, ok := repo.Files[file]
	if !ok {
		w.Header().Set("X-Repo-Commit", repo.Commit)
		hubError(w, http.StatusNotFound, "EntryNotFound", file+" does not exist on "+rev)
		return
	}
	w.Header().Set("X-Repo-Commit", repo.Commit)
	if repo.LFS[file] {
		sum := sha256Hex(data)
		w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
		w.Header().Set("X-Linked-Size", fmt.Sprint(len(data)))
		w.Header().Set("ETag", `"`+gitBlobID([]byte(sum))+`"`)
		store := h.Store.URL
		if h.StoreOnAPIHost {
			store = h.API.URL
		}
		w.Header().Set("Location", store+"/store/"+sum+"?repo="+repo.ID)
		w.WriteHeader(http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+gitBlobID(data)+`"`)
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(data)
}

func (h *Hub) serveStore(w http.ResponseWriter, r *http.Request) {
	h.Lock()
	h.Requests = append(h.Requests, r.Method+" "+r.URL.Path)
	if a := r.Header.Get("Authorization"); a != "" {
		h.StoreAuth = append(h.StoreAuth, a)
	}
	if rg := r.Header.Get("Range"); rg != "" {
		h.RangeHeaders = append(h.RangeHeaders, rg)
	}
	if h.fail(w, r.URL.Path) {
		h.Unlock()
		return
	}
	sum := strings.TrimPrefix(r.URL.Path, "/store/")
	var data []byte
	for _, repo := range h.repos {
		for name, d := range repo.Files {
			if repo.LFS[name] && sha256Hex(d) == sum {
				data = d
			}
		}
	}
	cut, cutting := h.CutAfter[r.URL.Path]
	delete(h.CutAfter, r.URL.Path)
	corrupt := h.Corrupt[r.URL.Path]
	extra := h.Oversize[r.URL.Path]
	h.Unlock()
	if data == nil {
		http.NotFound(w, r)
		return
	}
	if corrupt {
		data = bytes.Clone(data)
		for i := range data {
			data[i] ^= 0xff
		}
	}
	if extra > 0 { // more than X-Linked-Size said
		w.WriteHeader(http.StatusOK)
		w.Write(data)
		w.Write(make([]byte, extra))
		return
	}
	if cutting { // a partial body, then the connection drops
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:min(cut, len(data))])
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data)) // Range requests included
}
