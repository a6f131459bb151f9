package bucket_test

import (
	"fmt"

	"github.com/tensorchain/transport/bucket"
)

// A bucket of 3 tokens refilling at 1 per second allows a burst of 3.
func Example() {
	b := bucket.New(bucket.Config{Enabled: true, BucketSize: 3, RefillRate: 1}, nil)
	for i := range 4 {
		fmt.Println(i, b.Allow())
	}
	// Output:
	// 0 true
	// 1 true
	// 2 true
	// 3 false
}
