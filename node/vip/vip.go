// Package vip binds and releases a cluster's L2 virtual IP on a host, as
// vip-manager does for Pigsty: the address is added to the interface with
// netlink and announced with gratuitous ARP, so that switches and peers
// move it to this host at once.
package vip

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/arp"
	"github.com/vishvananda/netlink"
)

// Bind adds addr (<ipv4>/<prefix>) to the interface and announces it. It
// reports whether the address was added now (false: it was there).
func Bind(ifname, addr string) (bool, error) {
	link, a, err := resolve(ifname, addr)
	if err != nil {
		return false, err
	}
	if present, err := has(link, a); err != nil || present {
		return false, err
	}
	if err := netlink.AddrAdd(link, a); err != nil {
		return false, fmt.Errorf("vip: add %s to %s: %w", addr, ifname, err)
	}
	if err := Announce(ifname, a.IP); err != nil {
		return true, err
	}
	return true, nil
}

// Release removes addr from the interface; it reports whether it was
// there.
func Release(ifname, addr string) (bool, error) {
	link, a, err := resolve(ifname, addr)
	if err != nil {
		return false, err
	}
	present, err := has(link, a)
	if err != nil || !present {
		return false, err
	}
	if err := netlink.AddrDel(link, a); err != nil {
		return false, fmt.Errorf("vip: remove %s from %s: %w", addr, ifname, err)
	}
	return true, nil
}

// Bound reports whether the interface holds addr.
func Bound(ifname, addr string) (bool, error) {
	link, a, err := resolve(ifname, addr)
	if err != nil {
		return false, err
	}
	return has(link, a)
}

// Announce broadcasts a gratuitous ARP request for ip from the interface.
func Announce(ifname string, ip net.IP) error {
	iface, err := net.InterfaceByName(ifname)
	if err != nil {
		return fmt.Errorf("vip: interface %s: %w", ifname, err)
	}
	c, err := arp.Dial(iface)
	if err != nil {
		return fmt.Errorf("vip: arp on %s: %w", ifname, err)
	}
	defer c.Close()
	a, ok := netip.AddrFromSlice(ip.To4())
	if !ok {
		return fmt.Errorf("vip: %s is not IPv4", ip)
	}
	p, err := arp.NewPacket(arp.OperationRequest, iface.HardwareAddr, a, broadcast, a)
	if err != nil {
		return fmt.Errorf("vip: arp packet: %w", err)
	}
	if err := c.WriteTo(p, broadcast); err != nil {
		return fmt.Errorf("vip: gratuitous arp for %s on %s: %w", ip, ifname, err)
	}
	return nil
}

var broadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

func resolve(ifname, addr string) (netlink.Link, *netlink.Addr, error) {
	link, err := netlink.LinkByName(ifname)
	if err != nil {
		return nil, nil, fmt.Errorf("vip: interface %s: %w", ifname, err)
	}
	a, err := netlink.ParseAddr(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("vip: address %q: %w", addr, err)
	}
	return link, a, nil
}

func has(link netlink.Link, a *netlink.Addr) (bool, error) {
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return false, fmt.Errorf("vip: list addresses of %s: %w", link.Attrs().Name, err)
	}
	for _, x := range addrs {
		if x.IP.Equal(a.IP) {
			return true, nil
		}
	}
	return false, nil
}
