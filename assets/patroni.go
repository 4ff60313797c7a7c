package assets

import _ "embed"

// PatroniShim is the module pigsty runs Patroni through
// (`python3 -m patroni_pigsty <patroni.yml>`): it reads etcd 3.6's error
// shapes for Patroni 4.0 and then runs Patroni unchanged.
//
//go:embed patroni/patroni_pigsty.py
var PatroniShim []byte

// PatroniShimModule is the shim's module name; its file is
// PatroniShimModule + ".py".
const PatroniShimModule = "patroni_pigsty"
