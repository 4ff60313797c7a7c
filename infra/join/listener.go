package join

import (
	"bufio"
	"crypto/tls"
	"net"
	"sync"
	"time"
)

// Split serves plain HTTP and TLS on one port: a connection whose first
// byte opens a TLS handshake (0x16) goes to the TLS listener, any other to
// the plain one. `curl http://<infra>:9443/get` and the join API over
// https then share the port users are told about.
func Split(ln net.Listener, cfg *tls.Config) (plain, secure net.Listener) {
	s := &splitter{ln: ln, plain: make(chan net.Conn), secure: make(chan net.Conn), done: make(chan struct{})}
	go s.accept()
	return &chanListener{s: s, ch: s.plain}, tls.NewListener(&chanListener{s: s, ch: s.secure}, cfg)
}

type splitter struct {
	ln            net.Listener
	plain, secure chan net.Conn
	done          chan struct{}
	once          sync.Once
	err           error
}

func (s *splitter) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			s.err = err
			s.close()
			return
		}
		go s.route(c)
	}
}

func (s *splitter) route(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	first, err := br.Peek(1)
	_ = c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return
	}
	conn := &peeked{Conn: c, r: br}
	ch := s.plain
	if first[0] == 0x16 {
		ch = s.secure
	}
	select {
	case ch <- conn:
	case <-s.done:
		c.Close()
	}
}

func (s *splitter) close() { s.once.Do(func() { close(s.done); s.ln.Close() }) }

type peeked struct {
	net.Conn
	r *bufio.Reader
}

func (p *peeked) Read(b []byte) (int, error) { return p.r.Read(b) }

type chanListener struct {
	s  *splitter
	ch chan net.Conn
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.s.done:
		if l.s.err != nil {
			return nil, l.s.err
		}
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error   { l.s.close(); return nil }
func (l *chanListener) Addr() net.Addr { return l.s.ln.Addr() }
