package patroni

import (
	"strconv"
	"strings"

	"pigsty/pgsql/inventory"
)

// listenAddresses is postgresql.listen: the instance's listen addresses,
// then ":<pg_port>" as Patroni wants it.
func listenAddresses(i *inventory.Instance) (string, error) {
	addrs, err := i.Listen()
	if err != nil {
		return "", err
	}
	return strings.Join(addrs, ",") + ":" + strconv.Itoa(i.Params.PgPort), nil
}
