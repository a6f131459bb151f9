//go:build tools

package deps

import (
	_ "github.com/panjf2000/gnet/v2"
	_ "github.com/pierrec/lz4/v4"
	_ "github.com/valyala/bytebufferpool"
	_ "golang.org/x/sys/unix"
	_ "github.com/pelletier/go-toml/v2"
)
