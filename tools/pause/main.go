// Command pause is the pod sandbox's process (what registry.k8s.io/pause runs): it holds the pod's
// namespaces open, reaps the zombies it inherits as PID 1, and exits on SIGINT or SIGTERM. Built
// by scripts/install-node so the node never pulls an image (no registry is reachable here).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
