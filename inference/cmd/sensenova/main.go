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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Run(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
