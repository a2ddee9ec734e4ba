// Compatibility path: the recurrent model now lives in model/rnn/ (RnnModel); CharModel is its old name.
export { RnnModel as CharModel, RnnModel, paramSpecs, type RecurrentState } from './rnn/model.js';
