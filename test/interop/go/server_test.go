package interop

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

const (
	// The server runs TypeScript through tsx, so a cold start can take a while.
	serverStartTimeout = 60 * time.Second
	// SIGTERM drains running calls; none are running by then, so this is generous.
	serverStopTimeout = 20 * time.Second
	// Upper bound for any single test's calls, so a hang fails instead of blocking.
	callTimeout = 2 * time.Minute
)

var listeningLine = regexp.MustCompile(`^flight-runner listening on grpc://(127\.0\.0\.1:\d+)$`)

// serverAddr is the host:port of the memory server started by TestMain.
var serverAddr string

// lockedBuffer collects the server's stderr (JSON log lines) for failure reports;
// exec copies into it from its own goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// repoRoot is three directories above this file (test/interop/go), found from the
// source path rather than the working directory so the tests run from anywhere.
func repoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate the test source file")
	}
	root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
	if _, err := os.Stat(filepath.Join(root, "bin", "flight-runner.js")); err != nil {
		return "", fmt.Errorf("repo root %s has no bin/flight-runner.js: %w", root, err)
	}
	return root, nil
}

// serverProcess is a running `flight-runner` server process and what it printed.
type serverProcess struct {
	name   string
	cmd    *exec.Cmd
	stderr *lockedBuffer
	// Stdout lines after the listening line; the server promises there are none.
	extraStdout chan string
	exited      chan error
}

func startMemoryServer() (*serverProcess, string, error) {
	return startServerProcess("memory server", "memory-server", "--port", "0")
}

// startServerProcess runs `flight-runner args...` (from the sources) in the repo root and
// returns once it printed its listening line, with the address it names.
func startServerProcess(name string, args ...string) (*serverProcess, string, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, "", err
	}
	// From the sources (tsx), with the export condition that makes a runner's
	// `import 'flight-runner'` load these same sources (package.json "exports").
	cmd := exec.Command("node", append([]string{"--conditions=flight-runner-source", "--import", "tsx", "src/cli/main.ts"}, args...)...)
	cmd.Dir = root
	server := &serverProcess{name: name, cmd: cmd, stderr: &lockedBuffer{}, extraStdout: make(chan string, 100), exited: make(chan error, 1)}
	cmd.Stderr = server.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("starting the %s: %w", name, err)
	}

	// Read stdout in the background for the whole run, so the server never blocks on a
	// full pipe; the first line is the address, any later one is a broken promise.
	firstLine := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		first := true
		for scanner.Scan() {
			if first {
				firstLine <- scanner.Text()
				first = false
				continue
			}
			select {
			case server.extraStdout <- scanner.Text():
			default:
			}
		}
		close(server.extraStdout)
		// Wait only after stdout is drained, as exec requires.
		server.exited <- cmd.Wait()
		close(firstLine)
	}()

	select {
	case line, ok := <-firstLine:
		if !ok {
			return nil, "", fmt.Errorf("%s exited before listening; stderr:\n%s", name, server.stderr.String())
		}
		match := listeningLine.FindStringSubmatch(line)
		if match == nil {
			server.kill()
			return nil, "", fmt.Errorf("unexpected first stdout line %q; stderr:\n%s", line, server.stderr.String())
		}
		return server, match[1], nil
	case <-time.After(serverStartTimeout):
		server.kill()
		return nil, "", fmt.Errorf("%s did not print its listening line within %s; stderr:\n%s",
			name, serverStartTimeout, server.stderr.String())
	}
}

// kill ends the process without grace (only used when something already went wrong).
func (s *serverProcess) kill() {
	_ = s.cmd.Process.Kill()
	select {
	case <-s.exited:
	case <-time.After(serverStopTimeout):
	}
}

// stop sends SIGTERM and expects a clean exit (status 0) and no further stdout.
func (s *serverProcess) stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("sending SIGTERM: %w", err)
	}
	select {
	case err := <-s.exited:
		if err != nil {
			return fmt.Errorf("%s did not exit cleanly after SIGTERM: %w; stderr:\n%s", s.name, err, s.stderr.String())
		}
	case <-time.After(serverStopTimeout):
		s.kill()
		return fmt.Errorf("%s still running %s after SIGTERM; stderr:\n%s", s.name, serverStopTimeout, s.stderr.String())
	}
	var extra []string
	for line := range s.extraStdout {
		extra = append(extra, line)
	}
	if len(extra) > 0 {
		return fmt.Errorf("%s printed more than its listening line on stdout: %q", s.name, extra)
	}
	return nil
}

func TestMain(m *testing.M) {
	server, addr, err := startMemoryServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: could not start the memory server:", err)
		os.Exit(1)
	}
	serverAddr = addr
	code := m.Run()
	if err := server.stop(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: memory server shutdown:", err)
		code = 1
	}
	os.Exit(code)
}

// newClient connects an arrow-go Flight client to the server, with the default 4 MiB
// receive limit lifted: Flight messages are whole record batches of any size.
func newClient(t *testing.T) flight.Client {
	t.Helper()
	client, err := flight.NewClientWithMiddleware(serverAddr, nil, nil,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32), grpc.MaxCallSendMsgSize(math.MaxInt32)),
	)
	if err != nil {
		t.Fatalf("connecting to %s: %v", serverAddr, err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// callContext bounds every call a test makes.
func callContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	t.Cleanup(cancel)
	return ctx
}
