// One ingest request of the collector benches; anything but all `lines` accepted is a failure.
export async function postBatch(url, source, token, body, lines = 1000) {
  const res = await fetch(`${url}/v1/sources/${source}/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
    body,
  });
  const json = await res.json();
  if (res.status !== 200 || json.accepted !== lines) throw new Error(`ingest failed: ${res.status} ${JSON.stringify(json)}`);
}
