// Command etcd is upstream etcd's server entry point (go.etcd.io/etcd/v3's main
// package refuses `go install` because its module uses replace directives).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
