// Resolved with moduleResolution node10 (no exports map): the testing entry needs typesVersions.
import { Ledger } from 'sealed-ledger';
import { mirrorPolicyDecisionTestAllow } from 'sealed-ledger/testing';

export const open: typeof Ledger.open = Ledger.open;
export const allow = mirrorPolicyDecisionTestAllow();
