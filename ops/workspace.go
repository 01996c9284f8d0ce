package ops

// Workspace is one caller's scratch memory for the operators — packed operand
// blocks, edge tiles, attention scores — together with the Pool that runs them. A
// model keeps one per State, request or worker; a loaded model shares its weights and
// Pool between any number of Workspaces. Buffers grow to the largest call and are
// reused, so a steady-state call allocates nothing.
//
// A Workspace is not safe for concurrent use: give each goroutine its own. A nil
// *Workspace is valid wherever one is taken and means a temporary single-threaded
// one (which allocates its scratch on every call).
type Workspace struct {
	pool    *Pool
	scratch []workerScratch // one per worker the pool may run
	gemm    gemmJob
	gemv    gemvJob
	i8      i8Job
	bf16    bf16Job
	packB   packBJob
	conv    convJob
	attn    attnJob
	grad    convGradJob
	q       qJob
	norm    normJob
	planes  poolJob
	serial  []*Workspace // per worker: single-threaded workspaces for work nested in a task
}

// NewWorkspace returns an empty workspace whose parallel operators run on p (nil: on
// the caller alone).
func NewWorkspace(p *Pool) *Workspace {
	return &Workspace{pool: p, scratch: make([]workerScratch, p.Threads())}
}

// Pool returns the pool the workspace runs on (nil when single-threaded).
func (ws *Workspace) Pool() *Pool { return ws.pool }

// orTemp returns ws, or a temporary single-threaded workspace for a nil ws.
func orTemp(ws *Workspace) *Workspace {
	if ws == nil {
		return NewWorkspace(nil)
	}
	return ws
}

// threads is the number of workers a job may be split over.
func (ws *Workspace) threads() int { return ws.pool.Threads() }

// run executes t over n items on the workspace's pool.
func (ws *Workspace) run(n int, t Task) { ws.pool.Run(n, t) }

// serialWorkspaces returns one single-threaded workspace per worker, for operators
// that a task runs inside its items (attention's per-head products). The caller
// makes them before the job starts, so workers only read the slice.
func (ws *Workspace) serialWorkspaces() []*Workspace {
	for len(ws.serial) < len(ws.scratch) {
		ws.serial = append(ws.serial, NewWorkspace(nil))
	}
	return ws.serial
}
