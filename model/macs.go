package model

// Cost is the work and size of one part of the network.
type Cost struct {
	Name   string `json:"name"`
	MACs   int64  `json:"macs"`      // convolution, linear and attention-matmul multiply-accumulates
	Attn   int64  `json:"attn_macs"` // of which the QK^T and PV products
	Params int64  `json:"params"`    // learnable parameters (BatchNorm running statistics excluded)
}

// Costs breaks the network down into stem, the four stages and head, using
// the counting of ../shared/design/coatnet.md §4 (element-wise work is not
// counted). The config must be valid.
func (c *Config) Costs() []Cost {
	stemSide, _ := c.StageSizes()
	out := []Cost{{Name: "stem"}}
	st := &out[0]
	n := int64(stemSide * stemSide)
	st.MACs = int64(c.StemWidth[0]*c.InChans*9)*n + int64(c.StemWidth[1]*c.StemWidth[0]*9)*n
	for s := range 4 {
		out = append(out, Cost{Name: stageNames[s]})
	}
	for _, b := range c.Blocks() {
		cost := &out[1+b.Stage]
		no := int64(b.OutSide * b.OutSide)
		if b.Stride == 2 && b.In != b.Out {
			cost.MACs += int64(b.Out*b.In) * no
		}
		switch b.Kind {
		case BlockConv:
			n1 := int64(b.InSide * b.InSide)
			if b.Stride == 2 && c.Conv.StrideMode != "dw" {
				n1 = no
			}
			cost.MACs += int64(b.Mid*b.In)*n1 + int64(b.Mid*9)*no + int64(2*b.Mid*b.SE) + int64(b.Out*b.Mid)*no
		case BlockTransformer:
			attn := int64(2*b.Attn) * no * no
			cost.Attn += attn
			cost.MACs += int64(3*b.Attn*b.In)*no + attn + int64(b.Out*b.Attn)*no + int64(2*b.Hidden*b.Out)*no
		}
	}
	head := Cost{Name: "head"}
	if c.HeadHiddenSize == 0 {
		head.MACs = int64(c.EmbedDim[3] * c.NumClasses)
	} else {
		head.MACs = int64(c.EmbedDim[3]*c.HeadHiddenSize + c.HeadHiddenSize*c.NumClasses)
	}
	out = append(out, head)
	for _, p := range c.Params() {
		idx := len(out) - 1
		switch {
		case len(p.Name) > 5 && p.Name[:5] == "stem.":
			idx = 0
		case len(p.Name) > 7 && p.Name[:7] == "stages.":
			idx = 1 + int(p.Name[7]-'0')
		}
		if isRunningStat(p.Name) {
			continue
		}
		out[idx].Params += int64(Numel(p.Shape))
	}
	return out
}

func isRunningStat(name string) bool {
	for _, suffix := range []string{".running_mean", ".running_var"} {
		if len(name) > len(suffix) && name[len(name)-len(suffix):] == suffix {
			return true
		}
	}
	return false
}

// TotalCost sums Costs.
func (c *Config) TotalCost() Cost {
	t := Cost{Name: "total"}
	for _, p := range c.Costs() {
		t.MACs += p.MACs
		t.Attn += p.Attn
		t.Params += p.Params
	}
	return t
}
