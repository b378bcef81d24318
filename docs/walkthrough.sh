#!/usr/bin/env bash
# The whole road of a dispute through the REST API, with the demo users of `make run`:
# whistle → accept → session record → escalate → refer to a lawyer → agreement with every
# signature → sign → follow-up visit → confirm performance → resolved, and the chain verifies.
# Usage: bash docs/walkthrough.sh [BASE_URL]   (default http://127.0.0.1:5000)
set -euo pipefail
BASE=${1:-http://127.0.0.1:5000}
json() { python3 -c "import sys, json; d = json.load(sys.stdin); print($1)"; }
token() {
  curl -sf "$BASE/api/v1/auth/token" -H 'Content-Type: application/json' \
    -d "{\"username\": \"$1\", \"password\": \"demo-2026\"}" | json 'd["token"]'
}
call() {  # call USER_TOKEN METHOD PATH [BODY]
  curl -sS -X "$2" "$BASE$3" -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
    ${4:+-d "$4"}
}
fire() {  # fire TOKEN CASE_ID VERSION TRIGGER DATA → prints "state version"
  call "$1" POST "/api/v1/cases/$2/transitions" \
    "{\"trigger\": \"$4\", \"expected_version\": $3, \"data\": ${5:-{\}}}" \
    | json 'd["state"] + " " + str(d["version"])' 2>/dev/null || { echo "fire $4 failed" >&2; exit 1; }
}
version() { call "$1" GET "/api/v1/cases/$2" | json 'd["version"]'; }

VOL=$(token wangayi); REV=$(token zhouzr); LAW=$(token zhenglvshi)

echo "1. 王秀英 (volunteer, HSB-01) blows the whistle"
CASE=$(call "$VOL" POST /api/v1/cases '{
  "workflow": "aunt_whistle", "grid": "HSB-01", "category": "邻里", "risk_level": "medium",
  "title": "楼上空调外机滴水", "description": "602室空调外机冷凝水滴落至502室阳台，多次沟通无果。",
  "parties": [
    {"role": "applicant", "kind": "person", "name": "陈玉兰", "sex": "女", "birth_year": 1956,
     "phone": "13811112222", "address": "红石板社区9幢1单元502室"},
    {"role": "respondent", "kind": "person", "name": "刘志强", "sex": "男", "birth_year": 1982,
     "phone": "13933334444", "address": "红石板社区9幢1单元602室"}]}')
ID=$(echo "$CASE" | json 'd["id"]')
echo "   $(echo "$CASE" | json 'd["case_no"] + " " + d["state_label"]')"

echo "2. she accepts it and records a mediation session"
fire "$VOL" "$ID" "$(version "$VOL" "$ID")" accept
call "$VOL" POST "/api/v1/cases/$ID/actions" '{"action": "record_session", "data": {
  "date": "2026-11-20", "place": "社区调解室", "participants": ["陈玉兰", "刘志强"],
  "summary": "双方各自陈述", "outcome": "未达成一致"}}' | json '"   event " + str(d["seq"]) + " " + d["name"]'

echo "3. no agreement in the grid: she escalates to the centre"
fire "$VOL" "$ID" "$(version "$VOL" "$ID")" escalate '{"reason": "双方分歧较大"}'

echo "4. 周建平 (reviewer) refers it to 郑明远 (legal aid lawyer)"
fire "$REV" "$ID" "$(version "$REV" "$ID")" refer_legal '{"lawyer": "zhenglvshi"}'

echo "5. the lawyer drafts the agreement; both parties and the mediator sign"
P=$(call "$LAW" GET "/api/v1/cases/$ID" | json '" ".join(str(p["id"]) for p in d["parties"])')
read -r P1 P2 <<<"$P"
call "$LAW" PUT "/api/v1/cases/$ID/agreement" "{
  \"facts\": \"602室空调冷凝水管脱落，冷凝水滴落至502室阳台。\",
  \"dispute_matters\": \"冷凝水管维修及阳台清洁费用。\",
  \"responsibilities\": \"602室业主负全部责任。\",
  \"terms\": [{\"obligor\": $P2, \"content\": \"三日内重新安装冷凝水管\", \"due_date\": \"2026-12-01\"},
            {\"obligor\": $P2, \"content\": \"支付阳台清洁费\", \"amount\": \"300.00\", \"due_date\": \"2026-12-01\"}],
  \"performance_method\": \"当面履行\", \"performance_deadline\": \"2026-12-01\"}" \
  | json '"   agreement revision " + str(d["revision"]) + ", copies " + str(d["copies"])'
for SIGNER in "$P1" "$P2" '"mediator"'; do
  call "$LAW" POST "/api/v1/cases/$ID/agreement/signatures" \
    "{\"signer\": $SIGNER, \"method\": \"signature\", \"signed_at\": \"2026-11-22T10:00:00+08:00\"}" \
    | json '"   signed: " + d["name"] + (" (in force)" if d["in_force"] else "")'
done
fire "$LAW" "$ID" "$(version "$LAW" "$ID")" sign_agreement

echo "6. a follow-up visit finds it performed; the case is closed"
call "$LAW" POST "/api/v1/cases/$ID/actions" '{"action": "record_follow_up", "data": {
  "date": "2026-11-21", "method": "电话回访", "result": "performed"}}' >/dev/null
fire "$LAW" "$ID" "$(version "$LAW" "$ID")" confirm_performance

echo "7. the trail verifies; the agreement prints"
call "$LAW" GET "/api/v1/cases/$ID/events/verify" | json '"   chain valid: " + str(d["valid"]) + ", events: " + str(d["events"])'
curl -sf -o /tmp/agreement-$ID.pdf -H "Authorization: Bearer $LAW" "$BASE/api/v1/cases/$ID/documents/agreement.pdf"
echo "   /tmp/agreement-$ID.pdf ($(wc -c </tmp/agreement-$ID.pdf) bytes)"
