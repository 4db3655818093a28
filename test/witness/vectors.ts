/**
 * Published cosignature/v1 data used as fixtures. Nothing here was produced by this project.
 *
 * - c2sp: the examples of c2sp.org/tlog-cosignature (v1.0.0) and c2sp.org/tlog-witness. The
 *   witness public key of the example is not published, so the line is checked for its layout
 *   and timestamp only, and the signed-message example byte for byte.
 * - formats: github.com/transparency-dev/formats note/note_cosigv1_test.go: a real witness's
 *   native 0x04 verifier key (its key ID is checked), a 0x01 key, and a timestamp vector.
 * - goVector: a complete vector (log key, witness key, checkpoint, log signature, cosignature)
 *   published in a public repository's tests, stated there to be produced by
 *   transparency-dev/formats v0.1.1 (note.NewSignerForCosignatureV1) and
 *   golang.org/x/mod/sumdb/note from fixed seeds. Ed25519 is deterministic, so re-signing
 *   from the seed must reproduce the line byte for byte; and only the exact message layout
 *   makes the signature verify.
 */
export const c2sp = {
  checkpointText: 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n',
  logSignatureLine:
    '\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n',
  cosignatureLine:
    '\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n',
  cosignatureKeyId: '8d66cf3f',
  cosignatureTime: 1679315147,
  signedMessage:
    'cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n',
  /** The example add-checkpoint request body of c2sp.org/tlog-witness. */
  addCheckpointBody:
    'old 20852014\n' +
    'PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n' +
    'jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n' +
    '5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n' +
    '/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n' +
    '\n' +
    'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n' +
    '\n' +
    '\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n' +
    '\u2014 example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n',
} as const;

export const formats = {
  nativeCosignatureVkey: 'remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2',
  ed25519NoteVkey: 'TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6',
  timestampSignature: 'ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==',
  timestamp: 1727964367,
} as const;

export const goVector = {
  logSkey: 'PRIVATE+KEY+example.com/vector-log+4516a1da+ARnX7cNOLM36CVoVFnmyY1Yp3SE+vpow5cbV4Sw8rjRE',
  logVkey: 'example.com/vector-log+4516a1da+ARGkVJ4QEa2MOOLGBO6i7NVSJ1FQ97tIX+w+Ku0RZ6Em',
  witnessSkey: 'PRIVATE+KEY+witness.example.com/vector+416f103d+BJEX3xv88eoQIKT4E+GkxZcXaJCYlQfi/GJ3NDFmZIW8',
  witnessVkey: 'witness.example.com/vector+416f103d+BK/QmJFVP3SKJOqAMhFxBQPtylo3sjwWibyFDAlZKK8B',
  text: 'example.com/vector-log\n1234\nSBNJTRN+FjG7owHVrKtue7eqdM4RhdRWVl71HXN2d7I=\n',
  logLine:
    '\u2014 example.com/vector-log RRah2qlLrSlk6J8DA1HmNewppUM15Quhs5cAIb1KjBsV3otVirJTW8AFVsQtJkTW1Zny7GuoAxZpI6bUPcpM68QOIgE=\n',
  witnessLine:
    '\u2014 witness.example.com/vector QW8QPQAAAABqwLUbDdj7sDNRIVjmjYgqFI6y4UJhPg/UAA8J8wAdqSd3q4PedRhkgXA4xFN/Jg5uWn7ZkBA+H/UHQs5d9hITdXmQAA==\n',
  time: 1791014171,
} as const;
