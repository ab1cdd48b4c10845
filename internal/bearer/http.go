package bearer

import "net/http"

// Challenge is the WWW-Authenticate value of a refusal.
const Challenge = `Bearer realm="outagewatch"`

// Require serves next when the request's Authorization header carries a token in force, with
// the token's name in the request's context (NameFrom). Otherwise it sets WWW-Authenticate to
// Challenge and calls refuse, which must write the response (401); a nil refuse writes a plain
// text 401 with Message.
func (s *Set) Require(next http.Handler, refuse func(w http.ResponseWriter, r *http.Request)) http.Handler {
	if refuse == nil {
		refuse = func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, Message, http.StatusUnauthorized)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := s.checkHeader(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", Challenge)
			refuse(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithName(r.Context(), name)))
	})
}
