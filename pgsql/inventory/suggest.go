package inventory

// suggest returns the candidate closest to word when it is close enough to
// be a likely typo ("pg_usres" → "pg_users"), or "".
func suggest(word string, candidates []string) string {
	best, bestDist := "", len(word)/3+2
	for _, c := range candidates {
		if d := editDistance(word, c); d < bestDist || (d == bestDist && best != "" && c < best) {
			best, bestDist = c, d
		}
	}
	if best != "" && bestDist > maxTypo(word) {
		return ""
	}
	return best
}

// maxTypo is how many edits a name may be from a known one and still count
// as its typo: short names get less slack, so "foo" is not read as "pg".
func maxTypo(word string) int {
	switch {
	case len(word) <= 4:
		return 1
	case len(word) <= 10:
		return 2
	default:
		return 3
	}
}

// editDistance is the Damerau (optimal string alignment) distance, which
// counts a swap of two neighbours as one edit — the commonest typo.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
