// Package hub fetches SenseNova checkpoints from a Hugging Face compatible
// endpoint (huggingface.co or a mirror such as the one HF_ENDPOINT names)
// into a model folder, and finds complete copies already on disk, so the
// desktop app's model manager and `sensenova download` share one
// implementation.
//
// It owns:
//   - the catalogue of official checkpoints (Catalogue, Resolve);
//   - the hub client (Client): a repository's files at a revision, with
//     sizes and checksums, from GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true,
//     and the file URLs {endpoint}/{repo}/resolve/{commit}/{file};
//   - the downloader (Downloader.Download): parallel HTTP range requests,
//     a few files at once, resumable after an interruption or a restart,
//     every file checked (size, then SHA-256 for LFS files or the git blob
//     SHA-1 for small ones) before it is renamed into place, and a manifest
//     written last, so a half-downloaded folder is never taken for a
//     complete one;
//   - finding complete copies: a folder this package completed (Inspect) and
//     a Hugging Face cache snapshot (FindInCache), which is returned as is
//     instead of downloading again.
//
// It must not print (progress goes to the Progress callback), load or
// interpret tensors (that is package checkpoint's work), or keep global
// mutable state: the environment is read only through ConfigFromEnv's
// getenv argument, and everything else lives in the Client and Downloader
// values the caller makes.
//
// # A folder being downloaded
//
//	<dest>/.download/<file>.part        the file's bytes, written at their final offsets
//	<dest>/.download/<file>.part.json   which byte ranges of the part are written and synced,
//	                                    and the size, SHA-256, ETag and commit they belong to
//	<dest>/<file>                       appears only after it was verified
//	<dest>/.sensenova-manifest.json     written last: the folder is complete
//
// # Choices, and why
//
//   - Range requests in parallel (4 per file, 4 files at once by default,
//     32 MiB each, on HTTP/1.1 connections): one TCP stream from a CDN rarely
//     fills a fast link, and HTTP/2 would put every range on one connection.
//     32 MiB bounds what an interruption can cost while keeping the request
//     overhead below a percent.
//   - A range is recorded in the sidecar only after the part file was
//     synced, so a recorded range is on disk; after a crash at most the
//     ranges in flight are fetched again. A cancel records the bytes each
//     request had written, so a restart fetches only what is missing.
//   - The hash is computed after the last range, reading the part back (it
//     is in the page cache): ranges arrive out of order, and a separate pass
//     also catches a torn write.
//   - Files come from the commit the listing named, not the branch, so a
//     push during a 35 GB download cannot mix two revisions.
//   - The token (HF_TOKEN) goes only to the endpoint's own host, never to the
//     CDN a file URL redirects to (signed URLs carry their own rights).
//   - The free-space check uses statfs on Linux, macOS and FreeBSD; elsewhere
//     (Windows included) the free space is reported unknown and the check is
//     skipped — a full disk is then reported when a write fails, with the
//     partial data kept for a resume. golang.org/x/sys is not used, to keep
//     this package on the standard library.
//
// One download at a time per destination folder: two processes writing the
// same folder are not detected.
package hub
