/** transformers' ignore_index: a label that no position is trained to predict (data, loss kernel,
 * metrics all read this one value). */
export const IGNORE_INDEX = -100;
