package arch

import "strings"

// Cost is the work and size of one part of the network.
type Cost struct {
	Name   string `json:"name"`
	MACs   int64  `json:"macs"`      // convolution, linear and attention-matmul multiply-accumulates
	Attn   int64  `json:"attn_macs"` // of which the QK^T and PV products
	Params int64  `json:"params"`    // learnable parameters (BatchNorm running statistics excluded)
}

// LayerCosts breaks the network down into the stem, every block and the
// head (named "stem", "stages.S.blocks.B", "head"), using the counting of
// ../shared/design/coatnet.md §4: convolution, linear and attention-matmul
// multiply-accumulates; element-wise work is not counted. The config must
// be valid.
func (c *Config) LayerCosts() []Cost {
	stemSide, _ := c.StageSizes()
	n := int64(stemSide * stemSide)
	out := []Cost{{Name: "stem", MACs: int64(c.StemWidth[0]*c.InChans*9)*n + int64(c.StemWidth[1]*c.StemWidth[0]*9)*n}}
	index := map[string]int{"stem": 0}
	for _, b := range c.Blocks() {
		cost := Cost{Name: b.Prefix()[:len(b.Prefix())-1]}
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
		index[cost.Name] = len(out)
		out = append(out, cost)
	}
	head := Cost{Name: "head"}
	if c.HeadHiddenSize == 0 {
		head.MACs = int64(c.EmbedDim[3] * c.NumClasses)
	} else {
		head.MACs = int64(c.EmbedDim[3]*c.HeadHiddenSize + c.HeadHiddenSize*c.NumClasses)
	}
	out = append(out, head)
	for _, p := range c.Params() {
		if isRunningStat(p.Name) {
			continue
		}
		i := len(out) - 1
		switch {
		case strings.HasPrefix(p.Name, "stem."):
			i = 0
		case strings.HasPrefix(p.Name, "stages."):
			parts := strings.SplitN(p.Name, ".", 5)
			i = index[strings.Join(parts[:4], ".")]
		}
		out[i].Params += int64(Numel(p.Shape))
	}
	return out
}

// Costs sums LayerCosts into the stem, the four stages and the head.
func (c *Config) Costs() []Cost {
	out := []Cost{{Name: "stem"}}
	for s := range 4 {
		out = append(out, Cost{Name: StageNames[s]})
	}
	out = append(out, Cost{Name: "head"})
	for _, l := range c.LayerCosts() {
		i := len(out) - 1
		switch {
		case l.Name == "stem":
			i = 0
		case strings.HasPrefix(l.Name, "stages."):
			i = 1 + int(l.Name[7]-'0')
		}
		out[i].MACs += l.MACs
		out[i].Attn += l.Attn
		out[i].Params += l.Params
	}
	return out
}

func isRunningStat(name string) bool {
	return strings.HasSuffix(name, ".running_mean") || strings.HasSuffix(name, ".running_var")
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
