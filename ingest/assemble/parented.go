package assemble

// incompleteMessage is the sample error of a call counted incomplete because its LLM span never
// came after a successful attempt: what the evidence says of it.
const incompleteMessage = "no LLM span after an HTTP 200: the call failed after its response began"

// parentKey is what "normally parented" is learned per: a service's calls to one provider.
type parentKey struct{ service, provider string }

// parentStat learns whether a service's successful attempts to a provider come with their LLM
// span. Once parentedMinimum have, the belief holds (an outage can orphan every call for as
// long as it lasts) until maxOrphanRun successful attempts in a row come without theirs (the
// instrumentation was removed).
type parentStat struct {
	parented  uint32 // successful attempts whose LLM span came
	orphanRun uint32 // successful attempts in a row whose LLM span did not
	// model is the one model the service's LLM spans to the provider have named; "" before
	// the first, or once they have named two.
	model      string
	manyModels bool
}

func (p *parentStat) sawParent(model string) {
	p.parented, p.orphanRun = satInc(p.parented), 0
	switch {
	case p.manyModels || model == p.model:
	case p.model == "":
		p.model = model
	default:
		p.model, p.manyModels = "", true
	}
}

// onlyModel is the model of a call whose LLM span never came and whose URL names none: the one
// model this service calls on this provider, or "" when it calls several (or none is known).
func (p *parentStat) onlyModel() string { return p.model }
func (p *parentStat) sawOrphan()        { p.orphanRun = satInc(p.orphanRun) }

func (p *parentStat) normallyParented() bool {
	return p.parented >= parentedMinimum && p.orphanRun < maxOrphanRun
}

func (a *Assembler) parentStat(service, provider string) *parentStat {
	k := parentKey{service, provider}
	st, ok := a.parented[k]
	if !ok {
		st = &parentStat{}
		if len(a.parented) < maxTrackedKeys {
			a.parented[k] = st
		}
	}
	return st
}
