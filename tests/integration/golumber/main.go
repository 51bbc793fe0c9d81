// Command golumber sends numbered events to a Lumberjack v2 server with
// Elastic's go-lumber client (the library Filebeat's logstash output uses)
// and prints one JSON line: how many events were sent and acknowledged.
//
// The integration tests build it with `go build` and run it against the beats
// input, so the server is checked against a client we did not write.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	v2 "github.com/elastic/go-lumber/client/v2"
)

type result struct {
	Sent    int     `json:"sent"`
	Acked   int     `json:"acked"`
	Windows int     `json:"windows"`
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:5044", "server address")
	count := flag.Int("count", 1000, "events to send")
	batch := flag.Int("batch", 100, "events per window")
	level := flag.Int("compress", 0, "zlib level 0-9 (0: uncompressed frames)")
	inflight := flag.Int("pipelining", 0, "windows in flight (0: wait for each ACK)")
	timeout := flag.Duration("timeout", 30*time.Second, "read/write timeout, as Filebeat's")
	ca := flag.String("ca", "", "CA file: connect with TLS and verify the server")
	cert := flag.String("cert", "", "client certificate (PEM)")
	key := flag.String("key", "", "client key (PEM)")
	serverName := flag.String("servername", "localhost", "name expected in the server certificate")
	client := flag.String("id", "go", "client name written into every event")
	pad := flag.Int("pad", 0, "bytes of padding added to each message")
	flag.Parse()

	res := result{}
	start := time.Now()
	err := run(*addr, *count, *batch, *level, *inflight, *timeout, *ca, *cert, *key, *serverName,
		*client, *pad, &res)
	res.Seconds = time.Since(start).Seconds()
	if err != nil {
		res.Error = err.Error()
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	if err != nil {
		os.Exit(1)
	}
}

func dial(addr string, timeout time.Duration, ca, cert, key, serverName string) (net.Conn, error) {
	if ca == "" {
		return net.DialTimeout("tcp", addr, timeout)
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", ca)
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	return conn, nil
}

func makeWindow(client string, from, n, pad int) []interface{} {
	padding := ""
	if pad > 0 {
		b := make([]byte, pad)
		for i := range b {
			b[i] = 'x'
		}
		padding = " " + string(b)
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	events := make([]interface{}, n)
	for i := 0; i < n; i++ {
		seq := from + i
		events[i] = map[string]interface{}{
			"@timestamp": now,
			"@metadata":  map[string]interface{}{"beat": "golumber", "type": "_doc", "version": "8.0.0"},
			"message":    fmt.Sprintf("%s event %d%s", client, seq, padding),
			"client":     client,
			"n":          seq,
			"log":        map[string]interface{}{"file": map[string]interface{}{"path": "/var/log/app.log"}},
			"input":      map[string]interface{}{"type": "filestream"},
			"agent":      map[string]interface{}{"type": "golumber", "name": client},
		}
	}
	return events
}

func run(addr string, count, batch, level, inflight int, timeout time.Duration,
	ca, cert, key, serverName, client string, pad int, res *result) error {
	conn, err := dial(addr, timeout, ca, cert, key, serverName)
	if err != nil {
		return err
	}
	opts := []v2.Option{v2.Timeout(timeout), v2.CompressionLevel(level)}

	if inflight <= 0 {
		sc, err := v2.NewSyncClientWithConn(conn, opts...)
		if err != nil {
			return err
		}
		defer sc.Close()
		for from := 0; from < count; from += batch {
			n := batch
			if from+n > count {
				n = count - from
			}
			res.Sent += n
			res.Windows++
			acked, err := sc.Send(makeWindow(client, from, n, pad))
			res.Acked += acked
			if err != nil {
				return err
			}
		}
		return nil
	}

	ac, err := v2.NewAsyncClientWithConn(conn, inflight, opts...)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	for from := 0; from < count; from += batch {
		n := batch
		if from+n > count {
			n = count - from
		}
		wg.Add(1)
		res.Sent += n
		res.Windows++
		err := ac.Send(func(seq uint32, err error) {
			mu.Lock()
			res.Acked += int(seq)
			if err != nil && firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
			wg.Done()
		}, makeWindow(client, from, n, pad))
		if err != nil {
			break
		}
	}
	wg.Wait()
	_ = ac.Close()
	return firstErr
}
