package server

// Browser tests: the pages in headless Chromium (Debian chromium, installed
// by scripts/setup-browser.sh), driven through the DevTools protocol. They
// skip when no Chromium is installed, unless LANDER_REQUIRE_BROWSER=1.
// LANDER_SCREENSHOT_DIR, when set, also receives the screenshots.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium returns the path of a Chromium, or skips the test when there is
// none and none is required.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("LANDER_REQUIRE_BROWSER") == "1" {
		t.Fatal("no chromium on PATH and LANDER_REQUIRE_BROWSER=1: run scripts/setup-browser.sh")
	}
	t.Skip("no chromium on PATH (scripts/setup-browser.sh installs it)")
	return ""
}

// browserTab is a tab of a fresh headless Chromium with the console
// messages it has logged.
type browserTab struct {
	ctx context.Context
	mu  sync.Mutex
	log []chromedp.ConsoleMessage
}

func newBrowser(t *testing.T) *browserTab {
	t.Helper()
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	b := &browserTab{ctx: ctx}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.log = append(b.log, m)
			b.mu.Unlock()
		}
	}()
	return b
}

// do runs steps with a deadline.
func (b *browserTab) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression, awaiting a promise.
func eval[T any](t *testing.T, b *browserTab, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %.60s: %v", expr, err)
	}
	return v
}

// screenshot saves a full-page PNG into the test's folder and, when
// LANDER_SCREENSHOT_DIR is set, there too.
func (b *browserTab) screenshot(t *testing.T, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(t.TempDir(), name)
	if dir := os.Getenv("LANDER_SCREENSHOT_DIR"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		path = filepath.Join(dir, name)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes)", path, len(png))
	return path
}

// noErrors fails on any error the pages logged: a script error, a refused
// resource or a Content Security Policy violation.
func (b *browserTab) noErrors(t *testing.T, allow ...string) {
	t.Helper()
	time.Sleep(100 * time.Millisecond) // let the last events arrive
	b.mu.Lock()
	defer b.mu.Unlock()
	t.Logf("%d console messages", len(b.log))
next:
	for _, m := range b.log {
		if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException {
			continue
		}
		for _, a := range allow {
			if strings.Contains(m.Text, a) {
				continue next
			}
		}
		t.Errorf("console %s: %s (%s)", m.Type, m.Text, m.URL)
	}
}

// slowImages delays every image, so that a page whose layout waited on its
// images would shift.
type slowImages struct {
	pngImages
	delay time.Duration
}

func (s slowImages) Get(id string) ([]byte, string, bool, error) {
	time.Sleep(s.delay)
	return s.pngImages.Get(id)
}

// waitFor evaluates a JavaScript expression until it is true, also across
// a navigation that the last action started.
func (b *browserTab) waitFor(t *testing.T, expr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", expr)
}

// imageBox is an image of the grid as laid out.
type imageBox struct {
	W, H    float64
	Natural int
	Lazy    bool
}

func TestBrowserLandingPage(t *testing.T) {
	b := newBrowser(t)
	f := newPagesServer(t, Options{})
	ix := f.s.Current()
	ix.Images = slowImages{ix.Images.(pngImages), 300 * time.Millisecond}

	b.do(t, "open the landing page on a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)),
		chromedp.Navigate(f.ts.URL+"/c/black-watches-for-men"),
		chromedp.WaitVisible(chromedp.CSS(".grid img")),
	)
	if got := eval[string](t, b, `document.title`); got != "Black Watches for Men · lander" {
		t.Errorf("title %q", got)
	}
	boxes := eval[[]imageBox](t, b, `[...document.querySelectorAll('.grid img')].map(i => {
		const r = i.getBoundingClientRect();
		return {W: r.width, H: r.height, Natural: i.naturalWidth, Lazy: i.loading === 'lazy'};
	})`)
	if len(boxes) != landingPageSize {
		t.Fatalf("%d images, want %d", len(boxes), landingPageSize)
	}
	pending := 0
	for i, bx := range boxes {
		if bx.W < 100 || bx.H < 100 || bx.H/bx.W < 1.32 || bx.H/bx.W > 1.34 {
			t.Errorf("image %d is %.0fx%.0f, want a 3:4 box", i, bx.W, bx.H)
		}
		if !bx.Lazy && bx.Natural != 60 {
			t.Errorf("eager image %d not loaded at load (natural width %d)", i, bx.Natural)
		}
		if bx.Natural == 0 {
			pending++
		}
	}
	if pending == 0 {
		t.Error("every lazy image loaded with the page: lazy loading is not at work")
	}
	// Scroll through the grid so that the lazy images load late, then read
	// the layout shifts of the whole visit.
	eval[bool](t, b, `(async () => {
		for (let y = 0; y < document.body.scrollHeight; y += 400) { window.scrollTo(0, y); await new Promise(r => setTimeout(r, 60)); }
		await Promise.all([...document.images].map(i => i.complete ? 0 : new Promise(r => { i.onload = i.onerror = r; })));
		window.scrollTo(0, 0);
		return true;
	})()`)
	loaded := eval[int](t, b, `[...document.querySelectorAll('.grid img')].filter(i => i.naturalWidth === 60).length`)
	if loaded != landingPageSize {
		t.Errorf("%d of %d images loaded after scrolling", loaded, landingPageSize)
	}
	cls := eval[float64](t, b, `new Promise(resolve => {
		let cls = 0;
		new PerformanceObserver(l => { for (const e of l.getEntries()) if (!e.hadRecentInput) cls += e.value; })
			.observe({type: 'layout-shift', buffered: true});
		setTimeout(() => resolve(cls), 300);
	})`)
	if cls != 0 {
		t.Errorf("cumulative layout shift %.4f, want 0", cls)
	}
	// Two columns on a phone, no horizontal scrolling.
	if cols := eval[int](t, b, `getComputedStyle(document.querySelector('.grid')).gridTemplateColumns.split(' ').length`); cols != 2 {
		t.Errorf("%d columns on a phone", cols)
	}
	if wide := eval[bool](t, b, `document.documentElement.scrollWidth > window.innerWidth`); wide {
		t.Error("the page scrolls sideways on a phone")
	}
	b.screenshot(t, "landing-phone.png")
	b.do(t, "open it on a desktop",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(f.ts.URL+"/c/black-watches-for-men"),
		chromedp.WaitVisible(chromedp.CSS(".grid img")),
	)
	b.screenshot(t, "landing.png")
	b.do(t, "open the directory", chromedp.Navigate(f.ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS(".dir")))
	b.screenshot(t, "directory.png")
	b.noErrors(t)
}

func TestBrowserSearchRemoveChip(t *testing.T) {
	b := newBrowser(t)
	f := newPagesServer(t, Options{})
	b.do(t, "search",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(f.ts.URL+"/"),
		chromedp.SendKeys(chromedp.CSS("#q"), "black watch for men\n"),
		chromedp.WaitVisible(chromedp.CSS("#total")),
	)
	if got := eval[string](t, b, `location.search`); got != "?q=black+watch+for+men" {
		t.Errorf("search URL %q", got)
	}
	if got := eval[string](t, b, `document.getElementById('total').textContent`); !strings.HasPrefix(got, "33 products") {
		t.Errorf("before: %q", got)
	}
	chipsBefore := eval[[]string](t, b, `[...document.querySelectorAll('a.chip')].map(a => a.dataset.key)`)
	if strings.Join(chipsBefore, ",") != "color,category,gender" {
		t.Errorf("chips %v", chipsBefore)
	}
	b.screenshot(t, "search.png")
	b.do(t, "remove the gender chip",
		chromedp.Click(chromedp.CSS(`a.chip[data-key="gender"]`)),
	)
	b.waitFor(t, `location.search === '?q=black+watches' && document.readyState === 'complete'`)
	if got := eval[string](t, b, `document.getElementById('total').textContent`); !strings.HasPrefix(got, "34 products") {
		t.Errorf("after removing gender: %q", got)
	}
	if got := eval[[]string](t, b, `[...document.querySelectorAll('a.chip')].map(a => a.dataset.key)`); strings.Join(got, ",") != "color,category" {
		t.Errorf("chips after %v", got)
	}
	if got := eval[string](t, b, `document.getElementById('q').value`); got != "black watches" {
		t.Errorf("search box %q", got)
	}
	b.noErrors(t)
}

func TestBrowserMerchPinShowsFirst(t *testing.T) {
	b := newBrowser(t)
	// Writes must say which version they replace: the console sends the
	// ETag it read as If-Match.
	f := newPagesServer(t, Options{RequireIfMatch: true})
	const slug = "black-watches-for-men"
	b.do(t, "open the collection in the console",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(f.ts.URL+"/merch/c/"+slug),
		chromedp.WaitVisible(chromedp.CSS(`button[data-action="pin"][data-id="37"]`)),
	)
	// A wrong token is refused and says so.
	b.do(t, "pin with a wrong token",
		chromedp.SendKeys(chromedp.CSS("#token"), "wrong"),
		chromedp.Click(chromedp.CSS(`button[data-action="pin"][data-id="37"]`)),
	)
	b.waitFor(t, `document.getElementById('status').className === 'err'`)
	if got := eval[string](t, b, `document.getElementById('status').textContent`); !strings.Contains(got, "token") {
		t.Errorf("status %q", got)
	}
	eval[bool](t, b, `(document.getElementById('token').value = '') === ''`)
	b.do(t, "pin with the token",
		chromedp.SendKeys(chromedp.CSS("#token"), pagesToken),
		chromedp.Click(chromedp.CSS(`button[data-action="pin"][data-id="37"]`)),
	)
	b.waitFor(t, `document.readyState === 'complete' && document.querySelector('.card') !== null && document.querySelector('.card').dataset.id === '37'`)
	if got := eval[string](t, b, `sessionStorage.getItem('lander.merchToken')`); got != pagesToken {
		t.Errorf("sessionStorage token %q", got)
	}
	b.screenshot(t, "merch-collection.png")
	b.do(t, "open the landing page", chromedp.Navigate(f.ts.URL+"/c/"+slug), chromedp.WaitVisible(chromedp.CSS(".card")))
	if got := eval[string](t, b, `document.querySelector('.card').dataset.id`); got != "37" {
		t.Errorf("first product %s, want the pinned 37", got)
	}

	// Preview a tuple from the console.
	b.do(t, "preview",
		chromedp.Navigate(f.ts.URL+"/merch"),
		chromedp.WaitVisible(chromedp.CSS("#preview")),
	)
	eval[bool](t, b, `(document.querySelector('#preview select[name="key"]').value = 'category') === 'category'`)
	b.do(t, "preview",
		chromedp.SendKeys(chromedp.CSS(`#preview input[name="value"]`), "watches"),
		chromedp.Click(chromedp.CSS(`#preview button`)),
		chromedp.WaitVisible(chromedp.CSS(`#preview-out .grid img`)),
	)
	if got := eval[string](t, b, `document.querySelector('#preview-out .count').textContent`); !strings.Contains(got, "Watches: 35 products") {
		t.Errorf("preview %q", got)
	}
	b.screenshot(t, "merch.png")
	// The refused write logs a 401 in the console; nothing else may.
	b.noErrors(t, "401")
}

func TestBrowserMerchGapsPreview(t *testing.T) {
	b := newBrowser(t)
	f := newGapsServer(t)
	b.do(t, "open the demand gaps from the console",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(f.ts.URL+"/merch"),
		chromedp.Click(chromedp.CSS(`a[href="/merch/gaps"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#gaps tr.gap`)),
	)
	if got := eval[[]string](t, b, `[...document.querySelectorAll('#gaps tr.gap')].map(r => r.dataset.query)`); strings.Join(got, "|") != "black for men|watches for women|red sandals" {
		t.Errorf("rows %q", got)
	}
	if got := eval[string](t, b, `document.querySelector('#gaps tr.gap td:nth-child(5) a').textContent`); got != "Black Watches for Men" {
		t.Errorf("nearest collection %q", got)
	}
	b.screenshot(t, "merch-gaps.png")
	b.do(t, "preview the first gap",
		chromedp.Click(chromedp.CSS(`#gaps tr.gap a.preview`)),
	)
	b.waitFor(t, `location.pathname === '/merch/preview' && document.readyState === 'complete' && document.querySelectorAll('.grid .card').length > 0`)
	if got := eval[int](t, b, `document.querySelectorAll('.grid .card img').length`); got != 35 {
		t.Errorf("%d product cards, want 35", got)
	}
	if got := eval[string](t, b, `document.getElementById('total').textContent`); got != "35 products" {
		t.Errorf("total %q", got)
	}
	b.screenshot(t, "merch-preview.png")
	b.noErrors(t)
}

func TestBrowserMerchChangesSincePrevious(t *testing.T) {
	b := newBrowser(t)
	f := newPagesServer(t, Options{History: newFakeHistory()})
	b.do(t, "open the index history from the console",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(f.ts.URL+"/merch"),
		chromedp.Click(chromedp.CSS(`a[href="/merch/generations"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#generations tr.generation`)),
	)
	if got := eval[[]string](t, b, `[...document.querySelectorAll('#generations tr.generation')].map(r => r.dataset.generation)`); strings.Join(got, " ") != "3 2 1" {
		t.Errorf("generations %q", got)
	}
	b.screenshot(t, "merch-generations.png")
	b.do(t, "open the changes since the previous generation",
		chromedp.Click(chromedp.CSS(`tr.generation[data-generation="3"] a.since`)),
	)
	b.waitFor(t, `location.pathname === '/merch/changes' && document.readyState === 'complete' && document.querySelector('h1') !== null`)
	if got := eval[string](t, b, `document.querySelector('h1').textContent`); got != "Generation 2 → 3" {
		t.Errorf("heading %q", got)
	}
	if got := eval[string](t, b, `document.getElementById('orphaned').textContent`); !strings.Contains(got, "Overrides kept for collections that no longer exist") {
		t.Errorf("orphaned overrides %q", got)
	}
	// Filter: the feeds that changed, whose slug has "host".
	eval[bool](t, b, `(document.querySelector('#filter select[name="kind"]').value = 'feed') === 'feed'`)
	b.do(t, "filter the feed changes",
		chromedp.SendKeys(chromedp.CSS(`#filter input[name="q"]`), "host"),
		chromedp.Click(chromedp.CSS(`#filter button`)),
	)
	b.waitFor(t, `location.search.includes('kind=feed') && document.readyState === 'complete' && document.getElementById('feed') !== null`)
	if got := eval[string](t, b, `location.search`); got != "?from=2&to=3&kind=feed&q=host" {
		t.Errorf("filter URL %q", got)
	}
	if got := eval[[]string](t, b, `[...document.querySelectorAll('section.changes')].map(s => s.id)`); strings.Join(got, " ") != "feed" {
		t.Errorf("sections %q", got)
	}
	if got := eval[string](t, b, `[...document.querySelectorAll('#feed tr.change')].map(r => r.dataset.name + ' ' + r.cells[1].textContent).join('|')`); got != "hostile 91.7%" {
		t.Errorf("feed rows %q", got)
	}
	if got := eval[string](t, b, `document.querySelector('#feed tr.change a').getAttribute('href')`); got != "/merch/c/hostile" {
		t.Errorf("link %q", got)
	}
	b.screenshot(t, "merch-changes.png")
	b.noErrors(t)
}
