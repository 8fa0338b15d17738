package affinity

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
	}{
		{"0", []int{0}},
		{"3", []int{3}},
		{"0-2,3", []int{0, 1, 2, 3}},
		{"0-3", []int{0, 1, 2, 3}},
		{"5,1-2", []int{1, 2, 5}},
		{"1,1,0-1", []int{0, 1}},
		{" 2 , 0 ", []int{0, 2}},
		{"4-4", []int{4}},
		{"1023", []int{1023}},
		{"0-1,8-9", []int{0, 1, 8, 9}},
	} {
		got, err := Parse(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", " ", ",", "0,", ",0", "a", "-1", "1-", "-", "3-1", "0-2-4", "1 - 2", "0x1", "1.0", "1024", "0-1024", "99999999999999999999", "0-3:2/4", "+1"} {
		if got, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", in, got)
		} else if !strings.Contains(err.Error(), `"`+in+`"`) {
			t.Errorf("Parse(%q): error %q does not quote the list", in, err)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want string
	}{
		{nil, ""},
		{[]int{0}, "0"},
		{[]int{0, 1}, "0-1"},
		{[]int{0, 1, 2, 3}, "0-3"},
		{[]int{3, 0, 1, 2}, "0-3"},
		{[]int{0, 2}, "0,2"},
		{[]int{0, 1, 2, 5, 7, 8, 1023}, "0-2,5,7-8,1023"},
		{[]int{4, 4, 4}, "4"},
	} {
		in := slices.Clone(tc.in)
		if got := Format(in); got != tc.want {
			t.Errorf("Format(%v) = %q, want %q", tc.in, got, tc.want)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("Format changed its argument to %v", in)
		}
		if tc.want != "" {
			back, err := Parse(tc.want)
			if want := slices.Compact(slices.Sorted(slices.Values(tc.in))); err != nil || !slices.Equal(back, want) {
				t.Errorf("Parse(Format(%v)) = %v, %v", tc.in, back, err)
			}
		}
	}
}

func TestSetRejects(t *testing.T) {
	for _, cpus := range [][]int{nil, {}, {-1}, {MaxCPU + 1}, {0, 5000}} {
		if err := Set(cpus); err == nil {
			t.Errorf("Set(%v) succeeded", cpus)
		}
	}
	if err := Set([]int{0, 5000}); err == nil || !strings.Contains(err.Error(), "5000") {
		t.Errorf("Set([0 5000]): %v, want an error naming 5000", err)
	}
	if _, err := Allowed(); errors.Is(err, errors.ErrUnsupported) {
		if err := Set([]int{0}); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("Set where Allowed is unsupported: %v", err)
		}
	}
}
