// Domain types of the model side: which linears a layer has and how its trainable vectors are
// named. The worker protocol and the UI import them from here.

/**
 * The linears of a transformer layer that VectorFit factors: q, k, v, o of attention; f1, f2 of
 * a plain MLP (BERT family); gate, up, down of a gated MLP (Llama family); pk, pq: DeBERTa's
 * position key and query projections of the relative embeddings (pos_key_proj, pos_query_proj,
 * present when the attention does not share q and k with them).
 */
export type ModuleKind = 'q' | 'k' | 'v' | 'o' | 'f1' | 'f2' | 'gate' | 'up' | 'down' | 'pk' | 'pq';
export const ATTENTION_KINDS: readonly ModuleKind[] = ['q', 'k', 'v', 'o'];
export const POSITION_KINDS: readonly ModuleKind[] = ['pk', 'pq'];
export const PLAIN_MLP_KINDS: readonly ModuleKind[] = ['f1', 'f2'];
export const GATED_MLP_KINDS: readonly ModuleKind[] = ['gate', 'up', 'down'];

/** A trainable vector of one layer: Σ or bias of one module. */
export interface VectorId {
  layer: number;
  module: ModuleKind;
  kind: 'sigma' | 'bias';
}

/** One row of the strength heatmap: the same vector in every layer. */
export type VectorRow = Omit<VectorId, 'layer'>;
