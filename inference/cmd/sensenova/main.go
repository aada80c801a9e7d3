// Command sensenova is the SenseNova Studio engine and command line; see
// package cli for the commands.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/sensenova/studio/inference/cli"
)

func main() {
	// The first Ctrl-C cancels the running command (it stops within one
	// step and cleans up); after that the signal is no longer caught, so a
	// second Ctrl-C ends the process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := cli.Run(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
