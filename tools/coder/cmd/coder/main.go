// Command coder is the local platform's Coder server: the enterprise CLI of coder/coder v2,
// which may trust one more license signing key, given at run time.
//
// Coder verifies a license JWT with the ed25519 public key its "kid" header names, looked up in
// the exported map enterprise/coderd.Keys (key id -> public key; enterprise/cli/server.go hands
// that map to the license checks and the usage publisher). The local platform signs its own
// license with a key pair it generates, and passes only the public half here, base64 (standard
// or URL alphabet, 32 bytes), in CODER_PLATFORM_LICENSE_PUBLIC_KEY. The key is registered under
// the id in CODER_PLATFORM_LICENSE_KEY_ID (default "coder-platform-local") before the CLI starts.
// Unset, this is the upstream server, trusting Coder's keys only; the binary holds no key, so it
// is not tied to a secret, and a malformed value stops it before it serves anything.
package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	_ "time/tzdata"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/coder/coder/v2/agent/agentexec"
	_ "github.com/coder/coder/v2/buildinfo/resources"
	entcli "github.com/coder/coder/v2/enterprise/cli"
	"github.com/coder/coder/v2/enterprise/coderd"
)

const (
	publicKeyEnv = "CODER_PLATFORM_LICENSE_PUBLIC_KEY"
	keyIDEnv     = "CODER_PLATFORM_LICENSE_KEY_ID"
	defaultKeyID = "coder-platform-local"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "agent-exec" {
		// The workspace agent's process wrapper, as the upstream entry point dispatches it.
		err := agentexec.CLI()
		_, _ = fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := trustLocalLicenseKey(); err != nil {
		_, _ = fmt.Fprintln(os.Stderr, "coder:", err)
		os.Exit(2)
	}
	tea.InitTerminal()
	var root entcli.RootCmd
	root.RunWithSubcommands(root.EnterpriseSubcommands())
}

// trustLocalLicenseKey adds the public key named by the environment to coderd.Keys.
func trustLocalLicenseKey() error {
	encoded := strings.TrimSpace(os.Getenv(publicKeyEnv))
	if encoded == "" {
		return nil
	}
	key, err := decodePublicKey(encoded)
	if err != nil {
		return fmt.Errorf("%s: %w", publicKeyEnv, err)
	}
	keyID := strings.TrimSpace(os.Getenv(keyIDEnv))
	if keyID == "" {
		keyID = defaultKeyID
	}
	if _, taken := coderd.Keys[keyID]; taken {
		return fmt.Errorf("%s: %q is the id of one of Coder's own keys; choose another", keyIDEnv, keyID)
	}
	coderd.Keys[keyID] = key
	return nil
}

func decodePublicKey(encoded string) (ed25519.PublicKey, error) {
	for _, encoding := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		raw, err := encoding.DecodeString(encoded)
		if err != nil {
			continue
		}
		if len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("an ed25519 public key is %d bytes, this one %d", ed25519.PublicKeySize, len(raw))
		}
		return ed25519.PublicKey(raw), nil
	}
	return nil, fmt.Errorf("not base64")
}
