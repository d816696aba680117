// healthcheck sends a MongoDB "ping" command over the wire protocol (OP_MSG)
// and exits 0 only when the server answers {ok: 1}. The runtime image has no
// shell client, so this small static binary is built next to FerretDB.
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"time"
)

func cstring(b *bytes.Buffer, s string) { b.WriteString(s); b.WriteByte(0) }

func pingDocument() []byte {
	var e bytes.Buffer
	e.WriteByte(0x10) // int32
	cstring(&e, "ping")
	binary.Write(&e, binary.LittleEndian, int32(1))
	e.WriteByte(0x02) // string
	cstring(&e, "$db")
	binary.Write(&e, binary.LittleEndian, int32(len("admin")+1))
	cstring(&e, "admin")
	e.WriteByte(0)
	doc := make([]byte, 4, 4+e.Len())
	binary.LittleEndian.PutUint32(doc, uint32(4+e.Len()))
	return append(doc, e.Bytes()...)
}

// okValue finds the top-level "ok" field of a BSON document.
func okValue(doc []byte) (float64, error) {
	for i := 4; i < len(doc)-1; {
		kind := doc[i]
		end := bytes.IndexByte(doc[i+1:], 0)
		if end < 0 {
			return 0, fmt.Errorf("malformed reply")
		}
		name := string(doc[i+1 : i+1+end])
		i += end + 2
		var size int
		switch kind {
		case 0x01, 0x09, 0x11, 0x12:
			size = 8
		case 0x10:
			size = 4
		case 0x08:
			size = 1
		case 0x07:
			size = 12
		case 0x0A:
			size = 0
		case 0x02:
			size = 4 + int(binary.LittleEndian.Uint32(doc[i:]))
		case 0x03, 0x04:
			size = int(binary.LittleEndian.Uint32(doc[i:]))
		case 0x05:
			size = 5 + int(binary.LittleEndian.Uint32(doc[i:]))
		default:
			return 0, fmt.Errorf("unexpected BSON type 0x%02x", kind)
		}
		if name == "ok" {
			switch kind {
			case 0x01:
				return math.Float64frombits(binary.LittleEndian.Uint64(doc[i:])), nil
			case 0x10:
				return float64(int32(binary.LittleEndian.Uint32(doc[i:]))), nil
			}
		}
		i += size
	}
	return 0, fmt.Errorf("no ok field in the reply")
}

func check(address string) error {
	conn, err := net.DialTimeout("tcp", address, 3*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	body := append([]byte{0, 0, 0, 0, 0}, pingDocument()...) // flagBits, section kind 0
	header := make([]byte, 16)
	binary.LittleEndian.PutUint32(header[0:], uint32(16+len(body)))
	binary.LittleEndian.PutUint32(header[4:], 1)
	binary.LittleEndian.PutUint32(header[12:], 2013) // OP_MSG
	if _, err := conn.Write(append(header, body...)); err != nil {
		return err
	}
	if _, err := io.ReadFull(conn, header); err != nil {
		return err
	}
	reply := make([]byte, binary.LittleEndian.Uint32(header[0:])-16)
	if _, err := io.ReadFull(conn, reply); err != nil {
		return err
	}
	if binary.LittleEndian.Uint32(header[12:]) != 2013 || len(reply) < 10 || reply[4] != 0 {
		return fmt.Errorf("unexpected reply")
	}
	ok, err := okValue(reply[5:])
	if err != nil {
		return err
	}
	if ok != 1 {
		return fmt.Errorf("ping answered ok=%v", ok)
	}
	return nil
}

func main() {
	address := "127.0.0.1:27017"
	if len(os.Args) > 1 {
		address = os.Args[1]
	}
	if err := check(address); err != nil {
		fmt.Fprintln(os.Stderr, "unhealthy:", err)
		os.Exit(1)
	}
}
