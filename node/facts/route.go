package facts

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// primaryIP is the IPv4 address of the interface carrying the default
// route. It reads the routing table instead of opening a socket towards
// some outside address, so detection sends nothing on the network.
func (h host) primaryIP() (string, error) {
	iface, err := h.defaultRouteInterface()
	if err != nil || iface == "" {
		return "", err
	}
	ip, err := h.ifaceIP(iface)
	if err != nil {
		return "", fmt.Errorf("primary ip: interface %s: %w", iface, err)
	}
	return ip, nil
}

const rtfUp = 0x1

// defaultRouteInterface returns the interface of the usable IPv4 default
// route with the lowest metric, or "" when there is none.
func (h host) defaultRouteInterface() (string, error) {
	b, err := os.ReadFile(h.path("/proc/net/route"))
	if err != nil {
		return "", fmt.Errorf("primary ip: %w", err)
	}
	best, bestMetric := "", int64(-1)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// Iface Destination Gateway Flags RefCnt Use Metric Mask …
		if len(f) < 8 || f[0] == "Iface" || f[1] != "00000000" || f[7] != "00000000" {
			continue
		}
		flags, err1 := strconv.ParseUint(f[3], 16, 32)
		metric, err2 := strconv.ParseInt(f[6], 10, 64)
		if err1 != nil || err2 != nil {
			return "", fmt.Errorf("primary ip: bad /proc/net/route line %q", sc.Text())
		}
		if flags&rtfUp == 0 {
			continue
		}
		if bestMetric < 0 || metric < bestMetric {
			best, bestMetric = f[0], metric
		}
	}
	return best, nil
}

// interfaceIPv4 prefers a global unicast address, as the inventory IP of a
// node is never a link-local one.
func interfaceIPv4(name string) (string, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return "", err
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return "", err
	}
	fallback := ""
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.To4() == nil {
			continue
		}
		if n.IP.IsGlobalUnicast() {
			return n.IP.String(), nil
		}
		if fallback == "" {
			fallback = n.IP.String()
		}
	}
	return fallback, nil
}
